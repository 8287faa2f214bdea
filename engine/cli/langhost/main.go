// Command pulumi-language-python is rdagent-infra's Python language host for the Pulumi engine.
//
// Upstream's language host is a Go module of its own that the Go module proxy does not serve, so
// the real engine could not run a Python program here. This is a smaller host of our own: it
// speaks the LanguageRuntime gRPC protocol using the served sdk/v3 module (its Python toolchain
// handling, RPC helpers and policy-pack proxy) and runs programs through the
// `pulumi-language-python-exec` shim that ships in the same module. It supports what a Python
// program and a Python policy pack need: Handshake, GetRequiredPackages, Run, RunPlugin,
// InstallDependencies, About, GetProgramDependencies and Cancel. Code generation, packing and
// debugging are left unimplemented.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

const (
	execShim = "pulumi-language-python-exec"
	// The Python SDK exits with this status after it has printed an error the user can act on.
	exitAfterUserMessage = 32
)

// packagesScript prints every distribution installed where the program's Python finds them, as
// JSON: its PEP 503 name, its version and the path of the pulumi-plugin.json inside its top-level
// package ("" when there is none). Where a name is installed twice, the first on sys.path wins, as
// for pip. One interpreter start instead of two: `pip list` alone cost about 0.35 s of CPU, twice
// per `pulumi up` (preview and update).
const packagesScript = `import importlib.metadata, importlib.util, json, os, re
found = {}
for dist in importlib.metadata.distributions():
    name = dist.metadata["Name"]
    if not name:
        continue
    key = re.sub(r"[-_.]+", "-", name.lower())
    if key in found:
        continue
    path = ""
    try:
        spec = importlib.util.find_spec(name.replace("-", "_"))
        for location in (spec.submodule_search_locations or []) if spec else []:
            candidate = os.path.join(str(location), "pulumi-plugin.json")
            if os.path.isfile(candidate):
                path = candidate
                break
    except Exception:
        pass
    found[key] = {"version": dist.version, "plugin": path}
print(json.dumps(found))`

// aboutScript prints the interpreter's path and version, for About (one start, not three: the
// SDK's toolchain also asks pip for its version, which AboutResponse has no field for).
const aboutScript = `import platform, sys
print(sys.executable)
print(platform.python_version())`

// runScript runs `python -c script` with the program's interpreter and returns its stdout;
// `what` completes "cannot ..." in the error.
func runScript(ctx context.Context, tc toolchain.Toolchain, script, what string) ([]byte, error) {
	cmd, err := tc.Command(ctx, "-c", script)
	if err != nil {
		return nil, err
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("cannot %s: %w", what, err)
	}
	return out, nil
}

var releaseVersion = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	shim          string
	engineAddress string
	cancel        context.Context
	cancelFunc    context.CancelFunc
}

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	executor := flag.String("use-executor", "", "run programs with this executor instead of the shim beside this binary")
	flag.String("tracing", "", "accepted for compatibility; tracing is not supported")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}

	shim := *executor
	if shim == "" {
		self, err := os.Executable()
		if err != nil {
			fail(fmt.Errorf("cannot find this executable: %w", err))
		}
		shim = filepath.Join(filepath.Dir(self), execShim)
		if _, err := os.Stat(shim); err != nil {
			fail(fmt.Errorf("missing executor %s: %w", shim, err))
		}
	}

	cancelCtx, cancelFunc := context.WithCancel(context.Background())
	h := &host{shim: shim, cancel: cancelCtx, cancelFunc: cancelFunc}
	if args := flag.Args(); len(args) > 0 {
		h.engineAddress = args[0]
		if err := rpcutil.Healthcheck(cancelCtx, h.engineAddress, 5*time.Minute, cancelFunc); err != nil {
			fail(fmt.Errorf("cannot watch the engine: %w", err))
		}
	}

	stop := make(chan bool)
	go func() {
		<-cancelCtx.Done()
		close(stop)
	}()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(server *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(server, h)
			return nil
		},
	})
	if err != nil {
		fail(fmt.Errorf("cannot start the language host: %w", err))
	}
	fmt.Printf("%d\n", handle.Port) // the engine reads the port from our first line
	if err := <-handle.Done; err != nil {
		fail(fmt.Errorf("the language host stopped serving: %w", err))
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
	os.Exit(1)
}

// options reads the runtime options of Pulumi.yaml (or PulumiPolicy.yaml).
func options(info *pulumirpc.ProgramInfo, isPlugin bool) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{Root: info.GetRootDirectory(), ProgramDir: info.GetProgramDirectory()}
	values := info.GetOptions().AsMap()
	if value, ok := values["virtualenv"]; ok {
		text, isString := value.(string)
		if !isString {
			return opts, errors.New("runtime option virtualenv must be a string")
		}
		opts.Virtualenv = text
	}
	if value, ok := values["toolchain"]; ok {
		switch value {
		case "pip":
			opts.Toolchain = toolchain.Pip
		case "uv":
			opts.Toolchain = toolchain.Uv
		case "poetry":
			opts.Toolchain = toolchain.Poetry
		default:
			return opts, fmt.Errorf("unsupported runtime option toolchain: %v", value)
		}
	}
	if _, ok := values["typechecker"]; ok {
		return opts, errors.New("the runtime option typechecker is not supported by this language host")
	}
	if isPlugin && opts.Virtualenv == "" && (opts.Toolchain == toolchain.Pip || opts.Toolchain == toolchain.Auto) {
		opts.Virtualenv = "venv"
	}
	return opts, nil
}

// toolchainFor resolves the Python toolchain that the program's (or plugin's) runtime options name.
func toolchainFor(info *pulumirpc.ProgramInfo, isPlugin bool) (toolchain.Toolchain, error) {
	opts, err := options(info, isPlugin)
	if err != nil {
		return nil, err
	}
	return toolchain.ResolveToolchain(opts)
}

func (h *host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.GetEngineAddress()
	if err := rpcutil.Healthcheck(h.cancel, h.engineAddress, 5*time.Minute, h.cancelFunc); err != nil {
		return nil, fmt.Errorf("cannot watch the engine: %w", err)
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// GetRequiredPlugins is superseded by GetRequiredPackages; the engine falls back to it only for old hosts.
func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return nil, status.Error(codes.Unimplemented, "GetRequiredPlugins is superseded by GetRequiredPackages")
}

// GetRequiredPackages lists the resource plugins of the Pulumi packages installed in the
// program's virtualenv, from each package's pulumi-plugin.json (or its name and version).
func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	tc, err := toolchainFor(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	out, err := runScript(ctx, tc, packagesScript, "list the installed packages and their pulumi-plugin.json")
	if err != nil {
		return nil, err
	}
	installed := map[string]struct {
		Version string `json:"version"`
		Plugin  string `json:"plugin"`
	}{}
	if err := json.Unmarshal(out, &installed); err != nil {
		return nil, fmt.Errorf("cannot parse the list of installed packages: %w", err)
	}
	names := make([]string, 0, len(installed))
	for name := range installed {
		names = append(names, name)
	}
	sort.Strings(names)

	packages := []*pulumirpc.PackageDependency{}
	for _, pkgName := range names {
		pkg := installed[pkgName]
		if pkgName == "pulumi-policy" || pkgName == "pulumi" {
			continue // no resource plugin
		}
		var manifest struct {
			Resource bool   `json:"resource"`
			Name     string `json:"name"`
			Version  string `json:"version"`
			Server   string `json:"server"`
		}
		if path := pkg.Plugin; path != "" {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(data, &manifest); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if !manifest.Resource {
				continue
			}
		} else if !strings.HasPrefix(pkgName, "pulumi-") {
			continue
		}
		name, pluginVersion := manifest.Name, manifest.Version
		if name == "" {
			name = strings.TrimPrefix(pkgName, "pulumi-")
		}
		if pluginVersion == "" {
			if !releaseVersion.MatchString(pkg.Version) {
				continue // a pre-release's plugin version cannot be derived from its package version
			}
			pluginVersion = pkg.Version
		}
		if !strings.HasPrefix(pluginVersion, "v") {
			pluginVersion = "v" + pluginVersion
		}
		packages = append(packages, &pulumirpc.PackageDependency{Name: name, Version: pluginVersion, Kind: "resource", Server: manifest.Server})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	tc, err := toolchainFor(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}

	args := []string{h.shim}
	flagged := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagged("monitor", req.GetMonitorAddress())
	flagged("engine", h.engineAddress)
	flagged("project", req.GetProject())
	flagged("root_directory", req.GetInfo().GetRootDirectory())
	flagged("stack", req.GetStack())
	flagged("pwd", req.GetPwd())
	flagged("dry_run", strconv.FormatBool(req.GetDryRun()))
	flagged("parallel", strconv.Itoa(int(req.GetParallel())))
	flagged("organization", req.GetOrganization())
	args = append(args, req.GetInfo().GetEntryPoint())
	args = append(args, req.GetArgs()...)

	stackConfig := req.GetConfig()
	if stackConfig == nil {
		stackConfig = map[string]string{} // a stack without config: the SDK expects an object, not null
	}
	config, err := json.Marshal(stackConfig)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}

	runCtx, stop := context.WithCancel(h.cancel)
	defer stop()
	context.AfterFunc(ctx, stop)
	cmd, err := tc.Command(runCtx, args...)
	if err != nil {
		return nil, err
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON))

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if waitStatus, ok := exitErr.Sys().(syscall.WaitStatus); ok && waitStatus.ExitStatus() == exitAfterUserMessage {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run the Python program: %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// RunPlugin runs a plugin written in Python. Policy packs (kind analyzer) run as
// `python -u -m pulumi.policy <args> <pack dir>` in the pack's folder, behind the SDK's proxy
// that hands the pack the stack's configuration.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]) error {
	ctx := server.Context()
	analyzer := req.GetKind() == string(apitype.AnalyzerPlugin)
	tc, err := toolchainFor(req.GetInfo(), !analyzer)
	if err != nil {
		return err
	}
	var args []string
	if analyzer {
		args = append(append([]string{"-u", "-m", "pulumi.policy"}, req.GetArgs()...), req.GetInfo().GetProgramDirectory())
	} else {
		args = append([]string{req.GetInfo().GetProgramDirectory()}, req.GetArgs()...)
	}
	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}

	var proxy *sdk.PolicyProxy
	if analyzer {
		cmd.Dir = req.GetInfo().GetProgramDirectory()
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("cannot start the policy pack proxy: %w", err)
		}
		stack, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("cannot get the stack configuration for the policy pack: %w", err)
		}
		if stack != nil {
			settings := map[string]string{
				"PULUMI_ORGANIZATION": stack.GetOrganization(),
				"PULUMI_PROJECT":      stack.GetProject(),
				"PULUMI_STACK":        stack.GetStack(),
				"PULUMI_DRY_RUN":      strconv.FormatBool(stack.GetDryRun()),
			}
			if stack.GetConfig() != nil {
				config, err := json.Marshal(stack.GetConfig())
				if err != nil {
					return err
				}
				settings["PULUMI_CONFIG"] = string(config)
			}
			for key, value := range settings {
				if value != "" {
					cmd.Env = append(cmd.Env, key+"="+value)
				}
			}
		}
	} else {
		cmd.Dir = req.GetPwd()
	}
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr

	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start the plugin: %w", err)
	}
	if proxy != nil {
		if err := proxy.Attach(ctx, cmd); err != nil {
			return fmt.Errorf("cannot attach the policy pack proxy: %w", err)
		}
		return closer.Close()
	}
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())}})
		}
		return err
	}
	return closer.Close()
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest, server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	tc, err := toolchainFor(req.GetInfo(), false)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	if err := tc.InstallDependencies(server.Context(), req.GetInfo().GetProgramDirectory(), req.GetUseLanguageVersionTools(), true, stdout, stderr); err != nil {
		return err
	}
	return closer.Close()
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, err := toolchainFor(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	out, err := runScript(ctx, tc, aboutScript, "ask the Python interpreter for its path and version")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return nil, fmt.Errorf("unexpected answer from the Python interpreter: %q", out)
	}
	pythonVersion, err := toolchain.ParsePythonVersion(lines[1])
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: strings.TrimSpace(lines[0]), Version: pythonVersion.String()}, nil
}

func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, err := toolchainFor(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	installed, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	dependencies := make([]*pulumirpc.DependencyInfo, 0, len(installed))
	for _, pkg := range installed {
		dependencies = append(dependencies, &pulumirpc.DependencyInfo{Name: pkg.Name, Version: pkg.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: dependencies}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancelFunc()
	return &emptypb.Empty{}, nil
}
