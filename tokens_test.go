package apicron_test

import (
	"testing"

	"github.com/apicron/apicron"
)

func TestTokenSet_Check(t *testing.T) {
	t.Parallel()
	if apicron.NewTokenSet(nil, nil) != nil {
		t.Fatal("no tokens: want nil (open)")
	}
	s := apicron.NewTokenSet([]string{"full-1", "full-2"}, []string{"read-1"})
	for token, want := range map[string]apicron.Access{"full-1": apicron.AccessFull, "full-2": apicron.AccessFull,
		"read-1": apicron.AccessRead, "": apicron.AccessNone, "full-": apicron.AccessNone, "read-1 ": apicron.AccessNone} {
		if got := s.Check(token); got != want {
			t.Errorf("Check(%q) = %d, want %d", token, got, want)
		}
	}
}
