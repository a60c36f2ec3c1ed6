package config

import (
	"fmt"
	"io"
	"strings"
)

// WriteReference writes the settings as the markdown table the README carries.
func WriteReference(w io.Writer) error {
	if _, err := fmt.Fprintln(w, "| environment | flag | default | meaning |\n|---|---|---|---|"); err != nil {
		return err
	}
	for _, s := range Settings {
		flag := "`--" + s.Flag() + "`"
		if s.Secret {
			flag = "(env or file only)"
		}
		def := "—"
		if s.Default != "" {
			def = "`" + s.Default + "`"
		}
		if _, err := fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", s.Env, flag, def, strings.ReplaceAll(s.Help, "|", `\|`)); err != nil {
			return err
		}
	}
	return nil
}
