package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// applyConfig fills every flag of cmd the user did not set from the
// environment (MESHCTL_<FLAG_NAME>) or the config file, giving the
// precedence flag > env > file > default.
func applyConfig(v *viper.Viper, cmd *cobra.Command, explicitFile string, getenv func(string) string) error {
	v.SetEnvPrefix("MESHCTL")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	// Documented environment variables that do not follow MESHCTL_<FLAG>.
	envAliases := map[string]string{"mesh-namespace": "MESHCTL_NAMESPACE"}
	for flag, env := range envAliases {
		if err := v.BindEnv(flag, env, "MESHCTL_"+strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))); err != nil {
			return fmt.Errorf("bind %s: %w", env, err)
		}
	}
	if err := readConfigFile(v, explicitFile, getenv); err != nil {
		return err
	}
	var errs []error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" || !v.IsSet(f.Name) {
			return
		}
		if err := setFlagFromConfig(f, v.Get(f.Name)); err != nil {
			errs = append(errs, err)
		}
	})
	if len(errs) > 0 {
		return usageError(errors.Join(errs...))
	}
	return nil
}

func readConfigFile(v *viper.Viper, explicit string, getenv func(string) string) error {
	path := explicit
	if path == "" {
		dir := getenv("XDG_CONFIG_HOME")
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil //nolint:nilerr // no home, no default config file
			}
			dir = filepath.Join(home, ".config")
		}
		path = filepath.Join(dir, "meshctl", "config.yaml")
		if _, err := os.Stat(path); err != nil {
			return nil //nolint:nilerr // the default config file is optional
		}
	}
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		return usageError(fmt.Errorf("read config file %s: %w", path, err))
	}
	return nil
}

func setFlagFromConfig(f *pflag.Flag, val any) error {
	var s string
	switch x := val.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = fmt.Sprint(p)
		}
		s = strings.Join(parts, ",")
	case []string:
		s = strings.Join(x, ",")
	default:
		s = fmt.Sprint(x)
	}
	if err := f.Value.Set(s); err != nil {
		return fmt.Errorf("invalid value %q for --%s from the environment or config file: %w", s, f.Name, err)
	}
	return nil
}
