package web

import "github.com/apicron/apicron"

// nilStore is a Store no test here calls: the handler needs one to be built.
type nilStore struct{ apicron.Store }
