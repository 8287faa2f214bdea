// Command oidc-issuer is the OpenID Connect provider of the sign-in test (tests/test_ui_sign_in.py):
// oauth2-proxy's own test provider, github.com/oauth2-proxy/mockoidc, on loopback, with the client
// the stack configures and one user.
//
// It stands in for the organisation's identity provider, which cannot run here. It shows what our
// side sends and accepts: the authorization code flow with PKCE (S256 only, so a proxy that sent
// no verifier fails), the client id and secret, the redirect, and the e-mail and groups claims.
// It shows nothing about how a real provider behaves: every sign-in is granted to the same user,
// and no password is asked.
//
// It prints one JSON line, {"issuer": URL}, once it listens, and stops on SIGTERM or SIGINT.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/oauth2-proxy/mockoidc"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "the address to listen on")
	clientID := flag.String("client-id", "", "the OIDC client id (required)")
	clientSecret := flag.String("client-secret", "", "the OIDC client secret (required)")
	email := flag.String("email", "", "the e-mail address of the user every sign-in is granted to (required)")
	groups := flag.String("groups", "", "that user's groups, separated by commas")
	flag.Parse()
	if *clientID == "" || *clientSecret == "" || *email == "" {
		fmt.Fprintln(os.Stderr, "oidc-issuer: -client-id, -client-secret and -email are required")
		os.Exit(2)
	}

	// A key of its own per start: the package's default key is published with its source.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatalf("oidc-issuer: %v", err)
	}
	server, err := mockoidc.NewServer(key)
	if err != nil {
		log.Fatalf("oidc-issuer: %v", err)
	}
	server.ClientID = *clientID
	server.ClientSecret = *clientSecret
	server.CodeChallengeMethodsSupported = []string{mockoidc.CodeChallengeMethodS256}

	user := &mockoidc.MockUser{
		Subject:           "sign-in-test-user",
		Email:             *email,
		EmailVerified:     true,
		PreferredUsername: strings.SplitN(*email, "@", 2)[0],
	}
	if *groups != "" {
		user.Groups = strings.Split(*groups, ",")
	}
	// mockoidc grants each authorization to the next queued user (a default user when none is):
	// queue ours before every authorization request, and log each request (never its parameters).
	err = server.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.AuthorizationEndpoint {
				server.QueueUser(user)
			}
			log.Printf("%s %s", r.Method, r.URL.Path)
			next.ServeHTTP(w, r)
		})
	})
	if err != nil {
		log.Fatalf("oidc-issuer: %v", err)
	}

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("oidc-issuer: %v", err)
	}
	if err := server.Start(listener, nil); err != nil {
		log.Fatalf("oidc-issuer: %v", err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(map[string]string{"issuer": server.Issuer()}); err != nil {
		log.Fatalf("oidc-issuer: %v", err)
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	_ = server.Shutdown()
}
