"""The seed document's numbers (seed-deployment-automation.zh.md), named, in one place.

Every default in the configuration model comes from here, so that a reader can check
them against the seed without reading the model.
"""

# The RD-Agent web UI (`rdagent ui`, a Streamlit server) and its probes.
UI_PORT = 19899
# The seed probes `/health`; Streamlit answers `/_stcore/health` (SPEC section 7).
UI_HEALTH_PATH = "/_stcore/health"
PROBE_INITIAL_DELAY_SECONDS = 30
PROBE_PERIOD_SECONDS = 10

# Resources (seed: "资源配置优化").
REQUEST_CPU = "1000m"
REQUEST_MEMORY = "2Gi"
LIMIT_CPU = "4000m"
LIMIT_MEMORY = "8Gi"
# The seed asks for 1 GPU requested and 2 as the limit; Kubernetes requires extended
# resources' requests to equal their limits, so one number stands for both (SPEC section 7).
GPUS_PER_RUN = 1
OMP_NUM_THREADS = 4

# RollingUpdate (seed: blue_green_deployment.strategy).
MAX_SURGE = 1
MAX_UNAVAILABLE = 0
# A UI pod counts as available this long after it is Ready, so that its endpoint has reached the
# Service's EndpointSlices (and the Gateway) before the engine moves traffic to its track: the real
# control plane showed an abort's route back on the old colour while its slices still held 0 and 1
# of its 2 ready pods (docs/cluster-tests.md, finding 16).
MIN_READY_SECONDS = 5

# Three-tier cache (seed: cache_config).
L1_CACHE_SIZE = "1GB"
L1_CACHE_TTL_SECONDS = 300
L2_CACHE_SIZE = "10GB"
L2_CACHE_TTL_SECONDS = 3600
L3_CACHE_PATH = "/app/cache"
L3_CACHE_SIZE = "100Gi"
L3_CACHE_TTL_SECONDS = 86400
# The runs' traces, shared with the UI (not in the seed, which gave the UI no way to see the runs).
TRACES_SIZE = "50Gi"
# The runs' input data volume (workloads.data), when the program makes it.
DATA_SIZE = "20Gi"
# The node-level log shipper.
FLUENT_BIT_IMAGE = "cr.fluentbit.io/fluent/fluent-bit:4.0.3"
LOG_SHIPPER_NAMESPACE = "log-shipper"

# Logging (seed: logging dictConfig).
LOG_FILE = "/app/logs/rdagent.log"
LOG_FILE_MAX_BYTES = 10 * 1024 * 1024
LOG_FILE_BACKUP_COUNT = 5
LOGSTASH_PORT = 5959
LOG_FORMAT_STANDARD = "%(asctime)s [%(levelname)s] %(name)s: %(message)s"
LOG_FORMAT_JSON = '{"timestamp": "%(asctime)s", "level": "%(levelname)s", "logger": "%(name)s", "message": "%(message)s"}'

# Redis (the L2 cache).
REDIS_PORT = 6379

# Alerts (seed: monitoring_config.alerts and the rdagent.rules group).
ALERT_CPU_PERCENT = 80
ALERT_CPU_FOR_MINUTES = 5
ALERT_MEMORY_PERCENT = 90
ALERT_MEMORY_FOR_MINUTES = 2
ALERT_ERROR_RATE_PERCENT = 5
ALERT_ERROR_RATE_FOR_MINUTES = 5

# Canary (seed: canary_deployment.stages).
CANARY_STAGES = (
    {"weightPercent": 5, "durationMinutes": 5, "successRatePercent": 99, "latencyThresholdMs": 200},
    {"weightPercent": 25, "durationMinutes": 15, "errorRatePercent": 0.1},
    {"weightPercent": 100, "durationMinutes": 30, "autoPromote": True},
)

# Rollout analysis (not in the seed; Argo Rollouts' and Flagger's semantics): below the minimum
# request count a step is inconclusive; the limits say how many failing or inconclusive analyses abort.
ANALYSIS_MIN_REQUESTS = 50
ANALYSIS_FAILURE_LIMIT = 2
ANALYSIS_INCONCLUSIVE_LIMIT = 3
ANALYSIS_INTERVAL_SECONDS = 60
LOAD_HOOK_REQUESTS = 200

# Blue-green (seed: blue_green_deployment.traffic_switch).
BLUE_GREEN_INITIAL_WEIGHT_PERCENT = 10
BLUE_GREEN_INCREMENT_PERCENT = 20
BLUE_GREEN_FULL_SWITCH_PERCENT = 95

# GPU node pool: the taint every GPU node carries.
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "true"
GPU_TAINT_EFFECT = "NoSchedule"
GPU_RESOURCE = "nvidia.com/gpu"

# Non-root user of our images (images/production.Dockerfile creates it).
APP_UID = 10001
APP_GID = 10001

# The end of EKS standard support per Kubernetes minor version (the EKS release calendar; 14 months
# after release). Past it a cluster runs on extended support, billed per cluster hour on top.
EKS_STANDARD_SUPPORT_END = {"1.32": "2026-03-23", "1.33": "2026-07-29", "1.34": "2026-12-02", "1.35": "2027-03-27"}
# The EKS version of a new cluster: in standard support on 2026-12-05 (1.34's ended on
# 2026-12-02). Karpenter 1.9 supports 1.29 to 1.35.
EKS_VERSION = "1.35"
# Availability Zone IDs (the same in every account, unlike zone names) for the VPC the program makes,
# by region; other regions set rdagent:cluster.eks.zoneIds. None is a zone the EKS user guide lists
# as unable to host control planes (EKS_UNSUPPORTED_ZONE_IDS).
DEFAULT_ZONE_IDS = {
    "us-east-1": ("use1-az1", "use1-az2"),
    "us-east-2": ("use2-az1", "use2-az2"),
    "us-west-2": ("usw2-az1", "usw2-az2"),
    "eu-west-1": ("euw1-az1", "euw1-az2"),
    "eu-central-1": ("euc1-az1", "euc1-az2"),
    "ap-northeast-1": ("apne1-az1", "apne1-az4"),
    "ap-southeast-1": ("apse1-az1", "apse1-az2"),
}
# The EKS user guide (VPC and subnet requirements): zones where EKS cannot create a control plane.
EKS_UNSUPPORTED_ZONE_IDS = ("use1-az3", "usw1-az2", "cac1-az3")
# Helm charts the program installs on EKS (chart versions, pinned).
CHART_KARPENTER = {"repository": "oci://public.ecr.aws/karpenter", "chart": "karpenter", "version": "1.9.0", "namespace": "kube-system"}
# Kueue's chart (its README: helm install kueue oci://.../kueue/charts/kueue); the tests build the same
# Kueue (scripts/kueue-toolchain.sh).
CHART_KUEUE = {"repository": "oci://registry.k8s.io/kueue/charts", "chart": "kueue", "version": "0.16.2", "namespace": "kueue-system"}
CHART_ENVOY_GATEWAY = {
    "repository": "oci://docker.io/envoyproxy",
    "chart": "gateway-helm",
    "version": "v1.5.0",
    "namespace": "envoy-gateway-system",
}
# cert-manager, installed on EKS when the UI's certificate comes from an issuer (certManager); its
# CRDs come with the chart (crds.enabled), and it solves HTTP-01 through the Gateway (enableGatewayAPI).
CHART_CERT_MANAGER = {"repository": "https://charts.jetstack.io", "chart": "cert-manager", "version": "v1.19.1", "namespace": "cert-manager"}
# The ACME directory the program's ClusterIssuer uses by default (Let's Encrypt's production one).
ACME_SERVER = "https://acme-v02.api.letsencrypt.org/directory"
# The AWS provider of the Secrets Store CSI driver (ASCP 3.1.1), which installs the driver (1.6.0) as its dependency.
CHART_SECRETS_STORE_CSI_AWS = {
    "repository": "https://aws.github.io/secrets-store-csi-driver-provider-aws",
    "chart": "secrets-store-csi-driver-provider-aws",
    "version": "3.1.1",
    "namespace": "kube-system",
}
CHART_KUBE_PROMETHEUS_STACK = {
    "repository": "https://prometheus-community.github.io/helm-charts",
    "chart": "kube-prometheus-stack",
    "version": "76.5.1",
    "namespace": "monitoring",
}

# The authenticating proxy in front of an exposed UI (not in the seed, whose UI had no login).
# The distroless image runs as its nonroot user (65532); scripts/oauth2-proxy-toolchain.sh builds the same release.
OAUTH2_PROXY_VERSION = "v7.15.3"
OAUTH2_PROXY_IMAGE = f"quay.io/oauth2-proxy/oauth2-proxy:{OAUTH2_PROXY_VERSION}"
OAUTH2_PROXY_PORT = 4180
OAUTH2_PROXY_UID = 65532
OAUTH2_PROXY_REPLICAS = 2
