package identity

import (
	"context"
	"errors"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

func TestKubeTokenReviewer(t *testing.T) {
	cs := fake.NewClientset()
	var asked []string
	cs.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview)
		asked = tr.Spec.Audiences
		if tr.Spec.Token == "down" {
			return true, nil, errors.New("etcd unavailable")
		}
		tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: "system:serviceaccount:shop:web"}, Audiences: tr.Spec.Audiences}
		return true, tr, nil
	})
	r := KubeTokenReviewer{Client: cs.AuthenticationV1()}
	res, err := r.Review(context.Background(), "tok", meshapi.TokenAudience)
	if err != nil || !res.Authenticated || res.Username != "system:serviceaccount:shop:web" {
		t.Fatalf("Review = %+v, %v", res, err)
	}
	if len(asked) != 1 || asked[0] != meshapi.TokenAudience {
		t.Fatalf("the review asked for audiences %v", asked)
	}
	if _, err := r.Review(context.Background(), "down", meshapi.TokenAudience); err == nil {
		t.Fatal("an API error was not returned")
	}
}
