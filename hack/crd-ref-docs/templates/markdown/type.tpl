{{- define "type" -}}
{{- $type := . -}}
{{- if markdownShouldRenderType $type }}

### {{ $type.Name }}
{{- if $type.IsAlias }}

_Underlying type:_ _{{ markdownRenderTypeLink $type.UnderlyingType }}_
{{- end }}

{{ $type.Doc }}
{{- with index $type.Markers "kubebuilder:resource" }}
{{- with index . 0 }}

_kubectl:_ `kubectl get {{ .Path }}`
{{- with .ShortName }}; short name {{ range $i, $n := . }}{{ if $i }}, {{ end }}`{{ $n }}`{{ end }}{{ end }}
{{- with .Categories }}; category {{ range $i, $n := . }}{{ if $i }}, {{ end }}`{{ $n }}`{{ end }}{{ end }}.
{{- end }}
{{- end }}
{{- with index $type.Markers "kubebuilder:selectablefield" }}

_Selectable fields_ (`kubectl get --field-selector`):
{{- range $i, $f := . }}{{ if $i }},{{ end }} `{{ trimPrefix "." $f.JSONPath }}`{{ end }}.
{{- end }}
{{- with index $type.Markers "kubebuilder:printcolumn" }}

_Columns of `kubectl get`_ (the wide ones only with `-o wide`):

| Column | Field | |
| --- | --- | --- |
{{- range . }}
| {{ .Name }} | `{{ .JSONPath }}` | {{ if .Priority }}wide{{ end }} |
{{- end }}
{{- end }}
{{- $rules := index $type.Markers "kubebuilder:validation:XValidation" }}
{{- if or $type.Validation $rules }}

_Validation:_
{{- range $type.Validation }}
- {{ template "validation" . }}
{{- end }}
{{- range $rules }}
- Rule: {{ .Message }}
{{- end }}
{{- end }}
{{- if $type.References }}

_Appears in:_
{{- range $type.SortedReferences }}
- {{ markdownRenderTypeLink . }}
{{- end }}
{{- end }}
{{- if $type.Members }}

| Field | Description | Default | Validation |
| --- | --- | --- | --- |
{{- if $type.GVK }}
| `apiVersion` _string_ | `{{ $type.GVK.Group }}/{{ $type.GVK.Version }}` | | |
| `kind` _string_ | `{{ $type.GVK.Kind }}` | | |
{{- end }}
{{- range $type.Members }}
{{- $field := . }}
{{- /* The rules of the field's type are listed with the type. */}}
{{- $typeRules := index .Type.Markers "kubebuilder:validation:XValidation" }}
{{- $rules := list }}
{{- range index .Markers "kubebuilder:validation:XValidation" }}
{{- if not (has . $typeRules) }}{{ $rules = append $rules . }}{{ end }}
{{- end }}
| `{{ .Name }}` _{{ markdownRenderType .Type }}_ | {{ template "type_members" . }} | {{ markdownRenderDefault .Default }} | {{ range $i, $v := .Validation }}{{ if $i }}<br />{{ end }}{{ template "validation" $v }}{{ end }}{{ range $i, $r := $rules }}{{ if or $i $field.Validation }}<br />{{ end }}Rule: {{ markdownRenderFieldDoc $r.Message }}{{ end }} |
{{- end }}
{{- end }}
{{- if $type.EnumValues }}

| Value | Description |
| --- | --- |
{{- range $type.EnumValues }}
| `{{ .Name }}` | {{ template "doc" .Doc }} |
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{- /* validation renders one of crd-ref-docs' validation lines, with the
       markers +required and +optional as words. */ -}}
{{- define "validation" -}}
{{- if eq . "Required: {}" -}}Required
{{- else if eq . "Optional: {}" -}}Optional
{{- else -}}{{ markdownRenderFieldDoc . }}
{{- end -}}
{{- end -}}

{{- /* doc renders a doc comment in a table cell: the lines of a paragraph
       joined, paragraphs on lines of their own. */ -}}
{{- define "doc" -}}
{{- $d := trim . -}}
{{- $d = regexReplaceAll "\n[ \t]*\n" $d "\x00" -}}
{{- $d = regexReplaceAll "\n" $d " " -}}
{{- $d = replace "\x00" "<br /><br />" $d -}}
{{- markdownRenderFieldDoc $d -}}
{{- end -}}
