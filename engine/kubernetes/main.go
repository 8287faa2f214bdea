// Command pulumi-resource-kubernetes serves the Pulumi Kubernetes provider.
//
// The upstream command embeds a schema that `go generate` writes and that is not part of the
// module, so this wrapper embeds the files that scripts/engine-toolchain.sh writes beside it
// (from the module's schema.json, with the release version set).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
