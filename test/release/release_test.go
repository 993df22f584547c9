// Package release checks what `make release-snapshot` built into dist/, as
// a user meets it: the image's config, filesystem and binary; the chart
// installed on a local cluster; the plugin archives; the Krew and install
// manifests; the SBOMs and checksums.txt. `make test-release` builds dist/
// and runs these tests with RELEASE_DIST, RELEASE_VERSION and
// RELEASE_REGISTRY set; without them (as in `make test`) they skip.
package release

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/roomsync/roomsync/internal/testenv"
	"github.com/roomsync/roomsync/plugins/krew"
)

var (
	env                     *testenv.Env
	dist, version, registry string
	kubeconfig              string
)

func TestMain(m *testing.M) {
	dist, version, registry = os.Getenv("RELEASE_DIST"), os.Getenv("RELEASE_VERSION"), os.Getenv("RELEASE_REGISTRY")
	if dist == "" || version == "" || registry == "" {
		fmt.Println("release: RELEASE_DIST, RELEASE_VERSION and RELEASE_REGISTRY are not set; `make test-release` builds dist/ and sets them")
		os.Exit(m.Run())
	}
	os.Exit(testenv.Run(m, &env, func(ctx context.Context) error {
		dir, err := os.MkdirTemp("", "roomsync-release-")
		if err != nil {
			return err
		}
		kubeconfig = filepath.Join(dir, "kubeconfig")
		if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
			return err
		}
		// Nodes (kwok) on which the chart's Pods are scheduled and "run".
		_, err = env.StartCluster(ctx, 1)
		return err
	}))
}

func needDist(t *testing.T) {
	t.Helper()
	if dist == "" {
		t.Skip("no dist/ to check: run `make test-release`")
	}
}

// imageRef is the operator image's reference in the chart and manifests.
func imageRef() string { return registry + "/roomsync:" + version }

// platformImages returns the images of the OCI layout dist/image by
// platform ("linux/amd64"), from the image index ko wrote for the tag.
func platformImages(t *testing.T) map[string]v1.Image {
	t.Helper()
	root, err := layout.ImageIndexFromPath(filepath.Join(dist, "image"))
	if err != nil {
		t.Fatalf("dist/image is not an OCI image layout: %v", err)
	}
	top, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Manifests) != 1 || !top.Manifests[0].MediaType.IsIndex() {
		t.Fatalf("dist/image holds %d manifests, want one image index (linux/amd64 and linux/arm64)", len(top.Manifests))
	}
	idx, err := root.ImageIndex(top.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]v1.Image{}
	for _, d := range im.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest %s of the index has no platform", d.Digest)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		images[d.Platform.OS+"/"+d.Platform.Architecture] = img
	}
	if len(images) != 2 || images["linux/amd64"] == nil || images["linux/arm64"] == nil {
		t.Fatalf("the image's platforms are %v, want linux/amd64 and linux/arm64", keys(images))
	}
	return images
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// files reads the flattened filesystem of img by absolute path.
func files(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	out := map[string][]byte{}
	for name, data := range readTar(t, rc) {
		out["/"+strings.TrimPrefix(filepath.Clean("/"+name), "/")] = data
	}
	return out
}

// readTar reads a tar stream: each regular file's content by its name in
// the tar, and every other entry with a nil content. A file over 256 MiB
// fails the test rather than fill the memory.
func readTar(t *testing.T, r io.Reader) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			out[h.Name] = nil
			continue
		}
		if h.Size > 256<<20 {
			t.Fatalf("%s is %d bytes", h.Name, h.Size)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = data
	}
}

// TestImage checks each platform's image: it runs as 65532 from the
// operator binary, has no shell, has CA certificates, and its binary is
// static, for its platform, and (on the platform of this machine) runs.
func TestImage(t *testing.T) {
	needDist(t)
	for platform, img := range platformImages(t) {
		t.Run(platform, func(t *testing.T) {
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.OS+"/"+cf.Architecture != platform {
				t.Errorf("config platform %s/%s", cf.OS, cf.Architecture)
			}
			if u := cf.Config.User; u != "65532" && u != "65532:65532" {
				t.Errorf("user %q, want 65532 (nonroot)", u)
			}
			if len(cf.Config.Entrypoint) != 1 {
				t.Fatalf("entrypoint %q, want the operator binary alone", cf.Config.Entrypoint)
			}
			entry := cf.Config.Entrypoint[0]
			fs := files(t, img)
			for _, shell := range []string{"/bin/sh", "/bin/bash", "/bin/ash", "/bin/busybox", "/usr/bin/sh", "/usr/bin/env"} {
				if _, ok := fs[shell]; ok {
					t.Errorf("the image has %s: it must have no shell", shell)
				}
			}
			certs := x509.NewCertPool()
			if !certs.AppendCertsFromPEM(fs["/etc/ssl/certs/ca-certificates.crt"]) {
				t.Error("no CA certificates at /etc/ssl/certs/ca-certificates.crt: HTTPS to Tencent would fail")
			}
			if passwd := string(fs["/etc/passwd"]); !strings.Contains(passwd, ":65532:65532:") {
				t.Errorf("/etc/passwd has no user 65532:\n%s", passwd)
			}
			binary, ok := fs[entry]
			if !ok || len(binary) == 0 {
				t.Fatalf("the entrypoint %s is not a file of the image", entry)
			}
			checkStaticELF(t, binary, map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}[platform])
			if platform == runtime.GOOS+"/"+runtime.GOARCH {
				out := runBinary(t, binary, "roomsync", "--help")
				for _, flag := range []string{"-callback-bind-address", "-leader-elect", "-spool-dir"} {
					if !strings.Contains(out, flag) {
						t.Errorf("roomsync --help does not show %s:\n%s", flag, out)
					}
				}
			}
		})
	}
}

// checkStaticELF fails unless binary is an ELF executable for machine with
// no interpreter and no shared libraries.
func checkStaticELF(t *testing.T, binary []byte, machine elf.Machine) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		t.Fatalf("not an ELF binary: %v", err)
	}
	defer func() { _ = f.Close() }()
	if f.Machine != machine {
		t.Errorf("built for %s, want %s", f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader (PT_INTERP): it is not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
}

// runBinary writes binary to a file named name and runs it with args,
// failing unless it exits 0; it returns what it printed.
func runBinary(t *testing.T, binary []byte, name string, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestChartInstalls installs the packaged chart on the local cluster: its
// Deployment runs the release's image and becomes Available.
func TestChartInstalls(t *testing.T) {
	needDist(t)
	chart := filepath.Join(dist, "roomsync-"+strings.TrimPrefix(version, "v")+".tgz")
	out, err := helm("show", "chart", chart)
	if err != nil {
		t.Fatalf("helm show chart %s: %v\n%s", chart, err, out)
	}
	var meta struct {
		Version, AppVersion string
		Annotations         map[string]string
	}
	if err := yaml.Unmarshal([]byte(out), &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Version != strings.TrimPrefix(version, "v") || meta.AppVersion != version {
		t.Errorf("chart version %q and appVersion %q, want %q and %q", meta.Version, meta.AppVersion, strings.TrimPrefix(version, "v"), version)
	}
	if meta.Annotations["artifacthub.io/license"] != "Apache-2.0" {
		t.Errorf("no Artifact Hub license annotation: %v", meta.Annotations)
	}
	// The chart installs the CRDs itself: the ones the control plane was
	// started with go first, as on a cluster that never had roomsync.
	kubectl := filepath.Join(testenv.AssetsDir(), "kubectl")
	if out, err := exec.Command(kubectl, "--kubeconfig", kubeconfig, "delete", "crd", "--wait", "--timeout=60s",
		"chatapps.chat.roomsync.io", "rooms.chat.roomsync.io").CombinedOutput(); err != nil {
		t.Fatalf("deleting the CRDs: %v\n%s", err, out)
	}
	const ns, release = "release-chart", "rs"
	if out, err := helm("install", release, chart, "--namespace", ns, "--create-namespace", "--wait", "--timeout", "3m"); err != nil {
		t.Fatalf("helm install: %v\n%s", err, out)
	}
	var d appsv1.Deployment
	if err := env.Client.Get(t.Context(), types.NamespacedName{Namespace: ns, Name: release + "-roomsync"}, &d); err != nil {
		t.Fatal(err)
	}
	if got := d.Spec.Template.Spec.Containers[0].Image; got != imageRef() {
		t.Errorf("the Deployment runs %q, want the release's image %q", got, imageRef())
	}
	available := false
	for _, c := range d.Status.Conditions {
		available = available || (c.Type == appsv1.DeploymentAvailable && c.Status == "True")
	}
	if !available {
		t.Errorf("the Deployment is not Available after helm install --wait: %+v", d.Status.Conditions)
	}
}

// helm runs the helm that the Makefile builds ($HELM) against the local
// cluster.
func helm(args ...string) (string, error) {
	bin := os.Getenv("HELM")
	if bin == "" {
		bin = filepath.Join(testenv.RepoRoot(), "bin", "helm")
	}
	cmd := exec.Command(bin, append(args, "--kubeconfig", kubeconfig)...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+os.TempDir()+"/roomsync-helm", "HELM_CONFIG_HOME="+os.TempDir()+"/roomsync-helm")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestInstallManifests applies install.yaml and install-namespaced.yaml with
// a server-side dry run: the API server takes every object, and their
// Deployment runs the release's image.
func TestInstallManifests(t *testing.T) {
	needDist(t)
	kubectl := filepath.Join(testenv.AssetsDir(), "kubectl")
	for _, name := range []string{"install.yaml", "install-namespaced.yaml"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dist, name)
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), "image: "+imageRef()+"\n") {
				t.Errorf("%s does not run the release's image %s", name, imageRef())
			}
			// The namespaces the objects go in exist (a dry run of a
			// Namespace creates nothing); everything else is only tried.
			for _, ns := range namespacesOf(t, data) {
				err := env.Client.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
				if err != nil && !apierrors.IsAlreadyExists(err) {
					t.Fatal(err)
				}
			}
			if out, err := exec.Command(kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "--dry-run=server", "-f", file).CombinedOutput(); err != nil {
				t.Fatalf("kubectl apply --server-side --dry-run=server -f %s: %v\n%s", name, err, out)
			}
		})
	}
}

// namespacesOf returns the namespaces the objects of a multi-document
// manifest name.
func namespacesOf(t *testing.T, manifest []byte) []string {
	t.Helper()
	var out []string
	for _, doc := range strings.Split(string(manifest), "\n---") {
		var obj struct {
			Metadata struct {
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("the manifest does not parse: %v", err)
		}
		if ns := obj.Metadata.Namespace; ns != "" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out
}

// archives returns the plugin archives of dist by platform ("linux/amd64").
func archives(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, arch := range []string{"amd64", "arm64"} {
			ext := ".tar.gz"
			if goos == "windows" {
				ext = ".zip"
			}
			name := fmt.Sprintf("kubectl-roomsync_%s_%s_%s%s", version, goos, arch, ext)
			if _, err := os.Stat(filepath.Join(dist, name)); err != nil {
				t.Errorf("no plugin archive for %s/%s: %v", goos, arch, err)
				continue
			}
			out[goos+"/"+arch] = name
		}
	}
	return out
}

// TestPluginArchives opens each archive: it holds the plugin, built for its
// platform, and the license; the one for this machine runs.
func TestPluginArchives(t *testing.T) {
	needDist(t)
	for platform, name := range archives(t) {
		t.Run(platform, func(t *testing.T) {
			goos, arch, _ := strings.Cut(platform, "/")
			bin := "kubectl-roomsync"
			if goos == "windows" {
				bin += ".exe"
			}
			content := readArchive(t, filepath.Join(dist, name))
			if len(content["LICENSE"]) == 0 {
				t.Error("the archive has no LICENSE")
			}
			binary := content[bin]
			if len(binary) == 0 {
				t.Fatalf("the archive has no %s; it has %v", bin, keys(content))
			}
			checkPlatform(t, binary, goos, arch)
			if platform == runtime.GOOS+"/"+runtime.GOARCH {
				out := runBinary(t, binary, bin, "--help")
				for _, command := range []string{"status", "resync", "send", "describe"} {
					if !strings.Contains(out, command) {
						t.Errorf("kubectl-roomsync --help does not list %s:\n%s", command, out)
					}
				}
			}
		})
	}
}

// readArchive returns the files of a .tar.gz or .zip by name (a tar's
// other entries with a nil content).
func readArchive(t *testing.T, path string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if strings.HasSuffix(path, ".zip") {
		r, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = r.Close() }()
		for _, f := range r.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			_ = rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			out[f.Name] = data
		}
		return out
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return readTar(t, gz)
}

// checkPlatform fails unless binary is an executable for goos/arch.
func checkPlatform(t *testing.T, binary []byte, goos, arch string) {
	t.Helper()
	r := bytes.NewReader(binary)
	switch goos {
	case "linux":
		checkStaticELF(t, binary, map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch])
	case "darwin":
		f, err := macho.NewFile(r)
		if err != nil {
			t.Fatalf("not a Mach-O binary: %v", err)
		}
		if want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[arch]; f.Cpu != want {
			t.Errorf("built for %s, want %s", f.Cpu, want)
		}
	case "windows":
		f, err := pe.NewFile(r)
		if err != nil {
			t.Fatalf("not a PE binary: %v", err)
		}
		if want := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}[arch]; f.Machine != want {
			t.Errorf("built for machine %#x, want %#x", f.Machine, want)
		}
	}
}

// checksums reads checksums.txt: sha256 by file name.
func checksums(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	out := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		sum, name, ok := strings.Cut(s.Text(), "  ")
		if !ok {
			t.Fatalf("checksums.txt: line %q is not \"<sha256>  <file>\"", s.Text())
		}
		out[name] = sum
	}
	return out
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestChecksums checks that checksums.txt lists every file of dist/ with
// its sha256, and nothing else.
func TestChecksums(t *testing.T) {
	needDist(t)
	sums := checksums(t)
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "checksums.txt" {
			continue
		}
		want, ok := sums[e.Name()]
		if !ok {
			t.Errorf("checksums.txt does not list %s", e.Name())
			continue
		}
		delete(sums, e.Name())
		if got := fileSHA256(t, filepath.Join(dist, e.Name())); got != want {
			t.Errorf("%s: sha256 %s, checksums.txt says %s", e.Name(), got, want)
		}
	}
	for name := range sums {
		t.Errorf("checksums.txt lists %s, which is not in dist/", name)
	}
	for _, want := range []string{"install.yaml", "install-namespaced.yaml", "roomsync.yaml", "roomsync-image_" + version + ".oci.tar"} {
		if _, err := os.Stat(filepath.Join(dist, want)); err != nil {
			t.Errorf("dist/ has no %s", want)
		}
	}
}

// TestKrewManifest checks the rendered Krew manifest: the release's version,
// and for each platform an archive of dist/ with its real sha256.
func TestKrewManifest(t *testing.T) {
	needDist(t)
	data, err := os.ReadFile(filepath.Join(dist, "roomsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var p krew.Plugin
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatalf("roomsync.yaml: %v", err)
	}
	if p.Spec.Version != version {
		t.Errorf("version %q, want %q", p.Spec.Version, version)
	}
	want := archives(t)
	for _, pl := range p.Spec.Platforms {
		platform := pl.Selector.MatchLabels["os"] + "/" + pl.Selector.MatchLabels["arch"]
		name, ok := want[platform]
		if !ok {
			t.Errorf("%s: no archive was built for it", platform)
			continue
		}
		delete(want, platform)
		wantURI := "https://github.com/roomsync/roomsync/releases/download/" + version + "/" + name
		if pl.URI != wantURI {
			t.Errorf("%s: uri %s, want %s", platform, pl.URI, wantURI)
		}
		if got := fileSHA256(t, filepath.Join(dist, name)); pl.SHA256 != got {
			t.Errorf("%s: sha256 %s, the archive's is %s", platform, pl.SHA256, got)
		}
	}
	for platform := range want {
		t.Errorf("the Krew manifest has no entry for %s", platform)
	}
}

// TestSBOMs checks that the image (each platform) and each archive have an
// SPDX SBOM that lists packages, the Go modules among them.
func TestSBOMs(t *testing.T) {
	needDist(t)
	want := []string{"roomsync-image_" + version + "_linux_amd64.sbom.spdx.json", "roomsync-image_" + version + "_linux_arm64.sbom.spdx.json"}
	for _, name := range archives(t) {
		want = append(want, name+".sbom.spdx.json")
	}
	for _, name := range want {
		data, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Errorf("no SBOM %s: %v", name, err)
			continue
		}
		var doc struct {
			SPDXVersion string `json:"spdxVersion"`
			Packages    []struct {
				Name string `json:"name"`
			} `json:"packages"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		found := slices.ContainsFunc(doc.Packages, func(p struct {
			Name string `json:"name"`
		}) bool {
			return p.Name == "sigs.k8s.io/controller-runtime" || p.Name == "github.com/spf13/cobra"
		})
		if !strings.HasPrefix(doc.SPDXVersion, "SPDX-") || !found {
			t.Errorf("%s: %s with %d packages, none of them controller-runtime or cobra", name, doc.SPDXVersion, len(doc.Packages))
		}
	}
}
