package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildPlugin builds the kubectl plugin, kubectl-roomsync, into dir and
// returns its path.
func BuildPlugin(dir string) (string, error) {
	binary := filepath.Join(dir, "kubectl-roomsync")
	build := exec.Command("go", "build", "-o", binary, "./cmd/kubectl-roomsync")
	build.Dir = RepoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building kubectl-roomsync: %w\n%s", err, out)
	}
	return binary, nil
}
