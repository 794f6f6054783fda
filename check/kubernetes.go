package check

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MinKubernetesMinor is the oldest Kubernetes minor version supported on
// 1.x: native sidecars (init containers with restartPolicy Always) are on by
// default from 1.29.
const MinKubernetesMinor = 29

// kubernetesAPI is the "kubernetes-api" category: without it nothing else
// can run.
func kubernetesAPI() Category {
	return Category{ID: "kubernetes-api", Checks: []Check{
		{
			Code:        "MESH101",
			Description: "can initialize the client",
			Hint:        "check --kubeconfig, KUBECONFIG and --context; `kubectl config current-context` shows which cluster meshctl talks to",
			Fatal:       true,
			Run: func(_ context.Context, env *Env) error {
				if env.KubeErr != nil {
					return env.KubeErr
				}
				if env.Kube == nil {
					return errors.New("no kubernetes client")
				}
				return nil
			},
		},
		{
			Code:        "MESH102",
			Description: "can query the Kubernetes API",
			Hint:        "the API server did not answer: check the cluster is up and reachable from here (`kubectl get --raw /version`), and your credentials",
			Fatal:       true,
			Run: func(ctx context.Context, env *Env) error {
				_, err := serverVersion(ctx, env)
				return err
			},
		},
	}}
}

// kubernetesVersion is the "kubernetes-version" category.
func kubernetesVersion() Category {
	return Category{ID: "kubernetes-version", Checks: []Check{{
		Code:        "MESH103",
		Description: fmt.Sprintf("is running Kubernetes 1.%d or later", MinKubernetesMinor),
		Hint:        fmt.Sprintf("upgrade the cluster to Kubernetes 1.%d or later: the proxy runs as a native sidecar", MinKubernetesMinor),
		Fatal:       true,
		Run: func(ctx context.Context, env *Env) error {
			v, err := serverVersion(ctx, env)
			if err != nil {
				return err
			}
			major, minor, err := parseMajorMinor(v.Major, v.Minor)
			if err != nil {
				return fmt.Errorf("unreadable server version %q.%q: %w", v.Major, v.Minor, err)
			}
			if major < 1 || major == 1 && minor < MinKubernetesMinor {
				return fmt.Errorf("the cluster runs Kubernetes %s, older than 1.%d", v.GitVersion, MinKubernetesMinor)
			}
			return nil
		},
	}}}
}

type versionInfo struct {
	Major      string `json:"major"`
	Minor      string `json:"minor"`
	GitVersion string `json:"gitVersion"`
}

// serverVersion asks /version. Discovery takes no context, so the call runs
// aside and ctx bounds the wait; the client's own request timeout ends it.
func serverVersion(ctx context.Context, env *Env) (versionInfo, error) {
	if env.Kube == nil {
		return versionInfo{}, errors.New("no kubernetes client")
	}
	type answer struct {
		v   versionInfo
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		info, err := env.Kube.Discovery().ServerVersion()
		if err != nil {
			ch <- answer{err: fmt.Errorf("GET /version: %w", err)}
			return
		}
		ch <- answer{v: versionInfo{Major: info.Major, Minor: info.Minor, GitVersion: info.GitVersion}}
	}()
	select {
	case a := <-ch:
		return a.v, a.err
	case <-ctx.Done():
		return versionInfo{}, fmt.Errorf("GET /version: %w", ctx.Err())
	}
}

func parseMajorMinor(major, minor string) (int, int, error) {
	ma, err := strconv.Atoi(strings.TrimSuffix(major, "+"))
	if err != nil {
		return 0, 0, err
	}
	mi, err := strconv.Atoi(strings.TrimSuffix(minor, "+"))
	if err != nil {
		return 0, 0, err
	}
	return ma, mi, nil
}
