// Command krew renders the Krew manifest template of kubectl-roomsync for a
// release (make release-snapshot), with the sha256 of the archives built
// into -dist, and writes it to standard output.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/roomsync/roomsync/plugins/krew"
)

func main() {
	tmpl := flag.String("template", "plugins/krew/roomsync.yaml", "the Krew manifest template")
	tag := flag.String("tag", "", "the release tag, such as v1.2.3")
	dist := flag.String("dist", "dist", "the directory holding the archives")
	flag.Parse()
	if err := run(*tmpl, *tag, *dist, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "krew:", err)
		os.Exit(1)
	}
}

func run(tmpl, tag, dist string, out io.Writer) error {
	if tag == "" {
		return fmt.Errorf("-tag is required")
	}
	src, err := os.ReadFile(tmpl)
	if err != nil {
		return err
	}
	rendered, err := krew.Render(src, tag, func(archive string) (string, error) {
		f, err := os.Open(filepath.Join(dist, archive))
		if err != nil {
			return "", fmt.Errorf("the manifest names an archive that was not built: %w", err)
		}
		defer func() { _ = f.Close() }()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	})
	if err != nil {
		return err
	}
	_, err = out.Write(rendered)
	return err
}
