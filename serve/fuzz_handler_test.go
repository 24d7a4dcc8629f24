package serve_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/amscrypt/amscrypt/restore"
	"github.com/amscrypt/amscrypt/serve"
)

// FuzzRequest sends arbitrary paths, methods and headers: the server never
// panics, answers only the statuses it documents, and serves a file (200,
// 206 or 304) only for a GET or HEAD of exactly a plan file's name.
func FuzzRequest(f *testing.F) {
	s, err := serve.New(context.Background(), restore.Dir{Root: encDir}, plan(f, "keys/v3.json"), nil)
	if err != nil {
		f.Fatal(err)
	}
	names := map[string]bool{"/": true}
	idx, err := s.Index()
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range idx.Files {
		names["/"+e.Name] = true
	}
	f.Add("GET", "/movie.mp4", "bytes=0-10", "", "")
	f.Add("HEAD", "/subs.vtt", "bytes=-5,1-2", `"x"`, "*")
	f.Add("GET", "/../enc/movie.mp4", "", "", "")
	f.Add("PUT", "/movie.mp4", "bytes=0-", "", "")
	f.Fuzz(func(t *testing.T, method, path, rng, ifRange, ifNoneMatch string) {
		req := httptest.NewRequest("GET", "http://127.0.0.1/", nil)
		req.RemoteAddr = "127.0.0.1:1234"
		req.Method = method
		req.URL.Path = path
		req.URL.RawPath = ""
		for k, v := range map[string]string{"Range": rng, "If-Range": ifRange, "If-None-Match": ifNoneMatch} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		switch w.Code {
		case 200, 206, 304:
			if (method != "GET" && method != "HEAD") || !names[path] {
				t.Fatalf("%s %q answered %d", method, path, w.Code)
			}
		case 404, 405, 412, 416, 502:
		default:
			t.Fatalf("%s %q answered %d", method, path, w.Code)
		}
		if strings.Contains(w.Body.String(), "T1F6YPlKavZIP1WbqU6FUWuXlFjtMzexRNeldrKV04M=") {
			t.Fatal("key in a response")
		}
	})
}
