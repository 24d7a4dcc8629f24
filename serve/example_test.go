package serve_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
	"github.com/amscrypt/amscrypt/serve"
)

// Serve an asset's plaintext from its encrypted files and read a byte
// range of one of them, as a player would.
func Example() {
	export, err := os.ReadFile(filepath.Join(testvectors.Dir, "restore", "vod", "keys", "v3.json"))
	if err != nil {
		panic(err)
	}
	plan, err := keyexport.NewPlan([]keyexport.Document{{Name: "v3.json", Data: export}}, nil)
	if err != nil {
		panic(err)
	}
	src := restore.Dir{Root: filepath.Join(testvectors.Dir, "restore", "vod", "enc")}
	s, err := serve.New(context.Background(), src, plan, nil) // head checks every file
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(s) // or s.Serve(ctx, listener)
	defer ts.Close()

	req, _ := http.NewRequest("GET", ts.URL+"/subs.vtt", nil)
	req.Header.Set("Range", "bytes=0-5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, resp.Header.Get("Content-Range"), resp.Header.Get("Content-Type"))
	fmt.Printf("%q\n", body)
	// Output:
	// 206 Partial Content bytes 0-5/133 text/vtt; charset=utf-8
	// "WEBVTT"
}
