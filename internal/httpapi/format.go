package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// jsonFormat is Huma's JSON format with a more lenient decoder, see unmarshalJSON.
var jsonFormat = huma.Format{
	Marshal:   huma.DefaultJSONFormat.Marshal,
	Unmarshal: unmarshalJSON,
}

// maxExactInt is the largest integer a float64 holds exactly.
const maxExactInt = 1 << 53

// unmarshalJSON is json.Unmarshal that also accepts an integral number written
// as 10.0 or 1e3 for an integer field. JSON Schema counts those as integers, so
// Huma's validation lets them through, and encoding/json would then fail with
// a message naming Go types.
func unmarshalJSON(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || !strings.HasPrefix(te.Value, "number") {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if dec.Decode(&tree) != nil {
		return err
	}
	b, mErr := json.Marshal(integralNumbers(tree))
	if mErr != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// integralNumbers rewrites every integral number in a decoded JSON value
// (decoded with UseNumber) in integer notation.
func integralNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = integralNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = integralNumbers(e)
		}
	case json.Number:
		if !strings.ContainsAny(string(x), ".eE") {
			return x
		}
		f, err := x.Float64()
		if err == nil && f == math.Trunc(f) && math.Abs(f) <= maxExactInt {
			return json.Number(strconv.FormatInt(int64(f), 10))
		}
	}
	return v
}
