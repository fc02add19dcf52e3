package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

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
	return jsonError(decodeJSON(data, v))
}

func decodeJSON(data []byte, v any) error {
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

// jsonError says what is wrong with a body encoding/json could not decode,
// without its "json: " prefix or the Go types it names. Huma validates the
// body against its schema first, so a wrong type seldom gets this far.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && strings.HasPrefix(se.Error(), "unexpected end of JSON input"):
		return errors.New("not valid JSON: it ends before its value does")
	case errors.As(err, &se):
		return fmt.Errorf("not valid JSON: %s (at byte %d)", se.Error(), se.Offset)
	case errors.As(err, &te):
		what := "field " + te.Field
		if te.Field == "" {
			what = "the body"
		}
		kind := jsonKind(te.Type)
		if n, ok := strings.CutPrefix(te.Value, "number "); ok && (kind == "a number" || strings.HasPrefix(kind, "an integer")) {
			return fmt.Errorf("%s: the number %s is out of range", what, n)
		}
		return fmt.Errorf("%s: expected %s, got %s", what, kind, te.Value)
	}
	return err
}

// jsonKind names the JSON kind that decodes into t.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer that fits in 64 bits"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
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

// checkUTF8 refuses a body that is not valid UTF-8. encoding/json would
// replace each invalid byte with U+FFFD and apicron would store a name or a
// header that is not what the client sent. The error names the field whose
// string holds the first invalid byte (or its object, for a field name),
// and Huma answers it with 422.
func checkUTF8(raw []byte) []error {
	if utf8.Valid(raw) {
		return nil
	}
	bad := invalidUTF8(raw)
	loc, key := jsonLocation(raw, bad)
	msg := fmt.Sprintf("is not valid UTF-8 (byte 0x%02x at offset %d of the body)", raw[bad], bad)
	if key {
		msg = fmt.Sprintf("has a field name that is not valid UTF-8 (byte 0x%02x at offset %d of the body)", raw[bad], bad)
	}
	return []error{&huma.ErrorDetail{Location: loc, Message: msg}}
}

// invalidUTF8 returns the offset of the first byte of b that is not valid UTF-8.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// jsonLocation returns where in the JSON document raw the byte at offset
// lies, as Huma names locations: "body.headers.X-Key", "body.secret_headers[1]".
// key reports that the byte is in a field name, and the location is then its
// object's. A byte outside any string, or a document that is not JSON, is
// located at "body".
func jsonLocation(raw []byte, offset int) (loc string, key bool) {
	type frame struct {
		obj   bool
		key   string // the current field, in an object
		index int    // the current element, in an array
		inKey bool   // an object expects a field name next
	}
	var stack []*frame
	path := func(frames []*frame) string {
		var b strings.Builder
		b.WriteString("body")
		for _, f := range frames {
			if f.obj {
				b.WriteString("." + f.key)
			} else {
				fmt.Fprintf(&b, "[%d]", f.index)
			}
		}
		return b.String()
	}
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.obj {
			top.inKey = true
		} else {
			top.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return "body", false
		}
		in := int64(offset) >= start && int64(offset) < dec.InputOffset()
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, &frame{obj: t == '{', inKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].inKey {
				if in {
					return path(stack[:n-1]), true
				}
				stack[n-1].key, stack[n-1].inKey = t, false
				continue
			}
			if in {
				return path(stack), false
			}
			valueDone()
		default:
			valueDone()
		}
	}
}
