// Package krew renders roomsync.yaml, the Krew manifest template of
// kubectl-roomsync, as krew-release-bot renders it on a release, and
// describes what a rendered manifest holds (Plugin).
package krew

import (
	"bytes"
	"fmt"
	"path"
	"strings"
	"text/template"
)

// Render renders template src for tag: {{ .TagName }} is the tag, and each
// addURIAndSha "<url>" .TagName becomes the archive's uri, with the tag in
// it, and the sha256 that sha returns for the archive's file name.
func Render(src []byte, tag string, sha func(archive string) (string, error)) ([]byte, error) {
	funcs := template.FuncMap{"addURIAndSha": func(url, tag string) (string, error) {
		url = strings.ReplaceAll(url, "{{ .TagName }}", tag)
		sum, err := sha(path.Base(url))
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("uri: %s\n    sha256: %s", url, sum), nil
	}}
	tmpl, err := template.New("krew").Funcs(funcs).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("parsing the Krew manifest template: %w", err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, struct{ TagName string }{tag}); err != nil {
		return nil, fmt.Errorf("rendering the Krew manifest template: %w", err)
	}
	return out.Bytes(), nil
}

// Plugin is the part of Krew's Plugin kind
// (krew.googlecontainertools.github.com/v1alpha2) that the index checks:
// what the tests read of a rendered manifest.
type Plugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}
