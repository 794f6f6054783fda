package identity

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
)

// KubeTokenReviewer reviews tokens with the API server's TokenReview API.
type KubeTokenReviewer struct {
	Client authenticationclient.TokenReviewsGetter
}

// Review asks the API server whether token is valid for audience. The
// request names the audience, so a token minted for any other audience (the
// API server's own included) is refused by the server itself.
func (k KubeTokenReviewer) Review(ctx context.Context, token, audience string) (ReviewResult, error) {
	review := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: []string{audience}}}
	got, err := k.Client.TokenReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return ReviewResult{}, fmt.Errorf("create tokenreview: %w", err)
	}
	return ReviewResult{
		Authenticated: got.Status.Authenticated,
		Username:      got.Status.User.Username,
		Audiences:     got.Status.Audiences,
		Error:         got.Status.Error,
	}, nil
}
