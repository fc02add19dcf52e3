package web

import (
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/apicron/apicron"
)

// targetsPage is how many targets a page of the list shows.
const targetsPage = 50

type targetsData struct {
	Rows       []targetRow
	Prev, Next int
	Total      int
}

// targetRow is a target as the API shows it: secrets masked.
type targetRow struct {
	ID             int64
	Name           string
	Method, URL    string
	Headers        []header
	Auth           string // "", basic, bearer, oauth2_client_credentials
	SigningSecrets []string
	ClientCert     string // its subject; "" for none
	TimeoutSeconds *float64
	MaxRetries     *int
}

type header struct{ Name, Value string }

// newTargetRow masks t's secrets as the API's newTarget does: secret
// headers (Target.MaskedHeaders), signing secrets (MaskSigningSecret),
// the OAuth 2.0 client secret and the client certificate's key are not
// shown at all.
func newTargetRow(t *apicron.Target) targetRow {
	row := targetRow{ID: t.ID, Name: t.Name, Method: t.Method, URL: t.URL, TimeoutSeconds: t.TimeoutSeconds, MaxRetries: t.MaxRetries}
	masked := t.MaskedHeaders()
	for _, name := range slices.Sorted(maps.Keys(masked)) {
		row.Headers = append(row.Headers, header{name, masked[name]})
	}
	switch {
	case t.OAuth2 != nil:
		row.Auth = apicron.AuthOAuth2
	default:
		for name, v := range t.Headers {
			if a := apicron.AuthOf(v); a != nil && http.CanonicalHeaderKey(name) == "Authorization" {
				row.Auth = a.Type
			}
		}
	}
	for _, s := range t.SigningSecrets {
		row.SigningSecrets = append(row.SigningSecrets, apicron.MaskSigningSecret(s))
	}
	if t.ClientCert != nil {
		row.ClientCert = t.ClientCert.Info().Subject
	}
	return row
}

func (h *Handler) listTargets(w http.ResponseWriter, r *http.Request) {
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	offset = max(offset, 0)
	list, total, err := h.store.FindTargets(r.Context(), apicron.Page{Limit: targetsPage, Offset: offset})
	if err != nil {
		h.failErr(w, r, "list targets", err)
		return
	}
	d := targetsData{Prev: -1, Next: -1, Total: total}
	for _, t := range list {
		d.Rows = append(d.Rows, newTargetRow(t))
	}
	if offset > 0 {
		d.Prev = max(offset-targetsPage, 0)
	}
	if offset+len(list) < total {
		d.Next = offset + len(list)
	}
	h.render(w, r, http.StatusOK, "targets", "Targets", "targets", d)
}
