package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/runtime"
)

// ArgoCDHealth runs roomsync's Argo CD health check for kind ("Room" or
// "ChatApp", config/argocd/health-<kind>.lua) against obj in gopher-lua, the
// interpreter Argo CD embeds, as Argo CD does: obj decoded from JSON is the
// global obj, and the script returns hs. It returns hs.status and
// hs.message.
func ArgoCDHealth(kind string, obj any) (status, message string, err error) {
	file := filepath.Join(RepoRoot(), "config", "argocd", "health-"+strings.ToLower(kind)+".lua")
	script, err := os.ReadFile(file)
	if err != nil {
		return "", "", err
	}
	raw, ok := obj.(map[string]any)
	if !ok {
		if raw, err = runtime.DefaultUnstructuredConverter.ToUnstructured(obj); err != nil {
			return "", "", err
		}
	}
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, raw))
	fn, err := L.LoadString(string(script))
	if err != nil {
		return "", "", fmt.Errorf("%s does not load: %w", file, err)
	}
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		return "", "", fmt.Errorf("%s failed: %w", file, err)
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("%s returned %v, want a table", file, L.Get(-1))
	}
	return hs.RawGetString("status").String(), hs.RawGetString("message").String(), nil
}

// toLua converts decoded JSON to Lua values, as Argo CD does.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range v {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range v {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case nil:
		return lua.LNil
	}
	panic(fmt.Sprintf("unexpected JSON value %T", v))
}
