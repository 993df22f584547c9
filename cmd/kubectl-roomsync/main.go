// Command kubectl-roomsync is the kubectl plugin for roomsync: `kubectl
// roomsync status`, `resync`, `send` and `describe`. It takes kubectl's
// usual flags (--kubeconfig, --context, -n, ...) through cli-runtime and
// reads and writes only through the API server, with the user's own
// permissions.
//
// Install it with
//
//	go install github.com/roomsync/roomsync/cmd/kubectl-roomsync@latest
//
// (or `make build`, which puts it in bin/), anywhere on $PATH.
//
// Exit codes: 0 when all is well, 1 when something needs a human (status),
// a command failed or its answer was a refusal, 2 for a usage error.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/termsafe"
)

// Exit codes.
const (
	exitOK = 0
	// exitAttention: something needs a human, or the command failed.
	exitAttention = 1
	exitUsage     = 2
)

// scheme knows the built-in kinds (core, batch, events among them) and
// roomsync's.
var scheme = runtime.NewScheme()

func init() {
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		panic(err)
	}
	if err := chatv1alpha1.AddToScheme(scheme); err != nil {
		panic(err)
	}
}

func main() {
	// controller-runtime's client logs nothing a user of this command
	// wants, and warns on stderr when no logger is set.
	ctrllog.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(run(ctx, os.Args[1:], streams))
}

// usageError is a command line that cannot be acted on: exit code 2.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// attentionError says that something needs a human, after the command has
// printed what: exit code 1, with nothing more printed.
var errAttention = errors.New("something needs a human")

// plugin is what every command shares: kubectl's flags and the streams.
type plugin struct {
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	// now is the clock (fixed in tests).
	now func() time.Time
	// ran is set once a command's own code runs: an error before that is
	// cobra's, about the command line.
	ran bool
	// cluster, when set (in tests), is the client used instead of one made
	// from the flags.
	cluster client.Client
}

// clientQPS and clientBurst limit the plugin's requests, as kubectl limits
// its discovery requests. client-go's default limit (5 requests a second,
// bursts of 10) would make status, when it reads 100,000 Rooms whole in 200
// pages one after another, wait 38 s on itself. The plugin never has more
// than one request in flight: it is allowed what kubectl allows its
// discovery, and the API server's priority and fairness does the rest.
const (
	clientQPS   = 50
	clientBurst = 300
)

// client returns a client for the cluster the flags name.
func (p *plugin) client() (client.Client, error) {
	if p.cluster != nil {
		return p.cluster, nil
	}
	cfg, err := p.restConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to the API server: %w", err)
	}
	return c, nil
}

// restConfig returns the flags' REST config, with the plugin's limits.
func (p *plugin) restConfig() (*rest.Config, error) {
	cfg, err := p.flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = clientQPS, clientBurst
	return cfg, nil
}

// roomReader returns how status reads Rooms: through the server-side
// table where it can, or, with the client tests give, whole only.
func (p *plugin) roomReader() (roomReader, error) {
	c, err := p.client()
	if err != nil || p.cluster != nil {
		return roomReader{c: c}, err
	}
	cfg, err := p.restConfig()
	if err != nil {
		return roomReader{}, err
	}
	cfg.APIPath, cfg.GroupVersion = "/apis", &chatv1alpha1.GroupVersion
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	table, err := rest.RESTClientFor(cfg)
	if err != nil {
		return roomReader{}, fmt.Errorf("connecting to the API server: %w", err)
	}
	return roomReader{c: c, table: table}, nil
}

// namespace returns the namespace of -n, or the kubeconfig context's.
func (p *plugin) namespace() (string, error) {
	ns, _, err := p.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	return ns, nil
}

// clientAndNamespace returns client and namespace together, for the
// commands that work on one namespace.
func (p *plugin) clientAndNamespace() (client.Client, string, error) {
	c, err := p.client()
	if err != nil {
		return nil, "", err
	}
	ns, err := p.namespace()
	if err != nil {
		return nil, "", err
	}
	return c, ns, nil
}

// run runs the command line args with streams, against the cluster the
// flags name, and returns the exit code.
func run(ctx context.Context, args []string, streams genericiooptions.IOStreams) int {
	p := &plugin{flags: genericclioptions.NewConfigFlags(true), streams: streams, now: time.Now}
	return p.run(ctx, args)
}

// run runs the command line args and returns the exit code.
func (p *plugin) run(ctx context.Context, args []string) int {
	streams := p.streams
	root := newRootCommand(p)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errAttention):
		return exitAttention
	case !p.ran || errors.As(err, &usageError{}):
		printf(streams.ErrOut, "error: %s\nSee 'kubectl roomsync --help'.\n", errorText(err))
		return exitUsage
	}
	printf(streams.ErrOut, "error: %s\n", errorText(err))
	return exitAttention
}

// maxErrorBytes bounds an error as printed: one can quote what the API
// server or a receiver answered.
const maxErrorBytes = 4 << 10

// errorText is err's text, clipped to maxErrorBytes (printf escapes it).
func errorText(err error) string {
	text, cut := termsafe.Clip(err.Error(), maxErrorBytes)
	if cut > 0 {
		text += fmt.Sprintf("… (%d more bytes)", cut)
	}
	return text
}

func newRootCommand(p *plugin) *cobra.Command {
	root := &cobra.Command{
		Use: "kubectl-roomsync",
		// Shown in help as kubectl shows it.
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl roomsync"},
		Short:       "Look after roomsync: its ChatApps and Rooms, resyncs, callbacks",
		Long: "kubectl roomsync shows what roomsync mirrors of Tencent Cloud Chat rooms and what needs a human,\n" +
			"asks for resyncs from Tencent's REST API, and sends test callbacks.\n\n" +
			"Exit codes: 0 all is well, 1 something needs a human or the command failed, 2 usage error.",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Any argument that is not a command is a usage error.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true,
		},
	}
	root.SetIn(p.streams.In)
	root.SetOut(p.streams.Out)
	root.SetErr(p.streams.ErrOut)
	p.flags.AddFlags(root.PersistentFlags())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newStatusCommand(p), newResyncCommand(p), newSendCommand(p), newDescribeCommand(p))
	return root
}

// started marks the command as past its command line.
func (p *plugin) started() { p.ran = true }

// exactArgs is cobra.ExactArgs with a usage error that names what is
// missing.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == len(names):
			return nil
		case len(names) == 0:
			return usagef("%s takes no arguments, got %q", cmd.Name(), args)
		}
		return usagef("%s wants %s, got %d argument(s)", cmd.Name(), strings.Join(names, " "), len(args))
	}
}
