package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/internal/testvectors"
)

var (
	vodEnc   = filepath.Join(testvectors.Dir, "restore", "vod", "enc")
	vodPlain = filepath.Join(testvectors.Dir, "restore", "vod", "plain")
	vodKeys  = filepath.Join(testvectors.Dir, "restore", "vod", "keys", "v3.json")
)

// server is a running amscrypt serve.
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe starts bin serve with args and waits for the URL line, which
// names 127.0.0.1 unless args give another --listen host.
func startServe(t *testing.T, bin string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	s := &server{cmd: cmd, stderr: &lockedBuffer{}}
	cmd.Stderr = s.stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	rest := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		more, _ := io.ReadAll(r)
		rest <- string(more)
	}()
	select {
	case line := <-lines:
		host := `127\.0\.0\.1`
		if slices.Contains(args, "--listen") {
			host = `[0-9.]+`
		}
		require.Regexp(t, `^http://`+host+`:\d+\n$`, line, "stderr: %s", s.stderr) // "$URL/name" works
		s.url = strings.TrimSpace(line) + "/"
	case <-time.After(30 * time.Second):
		t.Fatalf("serve printed no URL; stderr: %s", s.stderr)
	}
	t.Cleanup(func() {
		select {
		case more := <-rest:
			require.Empty(t, more, "serve printed more than one line on stdout")
		case <-time.After(10 * time.Second):
		}
	})
	return s
}

// stop sends sig and returns the exit status and how long the exit took.
func (s *server) stop(t *testing.T, sig syscall.Signal) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	require.NoError(t, s.cmd.Process.Signal(sig))
	err := s.cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, time.Since(start)
}

func TestServeCommand(t *testing.T) {
	bin := buildCLI(t)
	want, err := os.ReadFile(filepath.Join(vodPlain, "movie.mp4"))
	require.NoError(t, err)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		s := startServe(t, bin, "--keys", vodKeys, "--in", vodEnc)
		resp, err := http.Get(s.url + "movie.mp4")
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, want, got)

		// A client that leaves mid-response (its connection reset, which
		// raises SIGPIPE in the server) must not stop the server.
		for range 3 {
			resp, err := http.Get(s.url + "movie.mp4")
			require.NoError(t, err)
			resp.Body.Read(make([]byte, 10))
			resp.Body.Close()
		}
		time.Sleep(200 * time.Millisecond)
		resp, err = http.Get(s.url + "subs.vtt")
		require.NoError(t, err, "the server stopped after a client left: %s", s.stderr)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)

		// A request in flight when the signal comes is finished.
		req, err := http.NewRequest("GET", s.url+"movie.mp4", nil)
		require.NoError(t, err)
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		code, took := s.stop(t, sig)
		require.Equal(t, 0, code, "%s: %s", sig, s.stderr)
		require.Less(t, took, 5*time.Second)
		got, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.Regexp(t, `GET "/movie.mp4" range=- 200 309043 `, s.stderr.String())
		require.NotContains(t, s.stderr.String(), "T1F6YPlKavZIP1WbqU6FUWuXlFjtMzexRNeldrKV04M=")
	}
}

func TestServeRefusals(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), mode))
		return p
	}
	empty := write("empty", "\n  \n", 0o600)
	short := write("short", "abc\n", 0o600)
	good := write("good", "0123456789abcdef0123\nsecond line ignored\n", 0o600)
	spaced := write("spaced", "0123456789abcdef 0123\n", 0o600)
	emptyDir := filepath.Join(dir, "emptydir")
	require.NoError(t, os.Mkdir(emptyDir, 0o700))
	base := []string{"serve", "--keys", vodKeys, "--in", vodEnc}
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{append(base, "--listen", "0.0.0.0:0"), 2, "not a loopback address"},
		{append(base, "--listen", "[::]:0"), 2, "not a loopback address"},
		{append(base, "--listen", "localhost"), 2, "want HOST:PORT"},
		{append(base, "--listen", " 127.0.0.1:0"), 2, "want HOST:PORT"},
		{append(base, "--listen", "127.0.0.1:99999"), 2, "port must be 0 to 65535"},
		{append(base, "--listen", "127.0.0.1:-1"), 2, "port must be 0 to 65535"},
		{append(base, "--listen", ""), 2, "empty"},
		{append(base, "--token-file", empty), 2, "holds no token"},
		{append(base, "--token-file", short), 2, "at least 16"},
		{append(base, "--token-file", spaced), 2, "space, control or non-ASCII character at byte 16"},
		{[]string{"serve", "--keys", vodKeys, "--in", filepath.Join(vodEnc, "movie.mp4")}, 1, "is not a directory"},
		{[]string{"serve", "--keys", vodKeys, "--in", emptyDir}, 1, "nothing to serve: 0 files failed their check (a wrong key or IV, or a truncated file), 12 named by the exports are not under --in"},
		{[]string{"restore", "--keys", vodKeys, "--in", filepath.Join(vodEnc, "movie.mp4"), "--check"}, 1, "is not a directory"},
		{append(base, "--token-file", filepath.Join(dir, "none")), 1, "no such file"},
		{append(base, "--max-in-flight", "0"), 2, "--max-in-flight"},
		{[]string{"serve", "--keys", vodKeys}, 2, "--in"},
		{[]string{"serve", "--in", vodEnc}, 2, "--keys"},
		{[]string{"serve", "--keys", vodKeys, "--in", filepath.Join(dir, "none")}, 1, "no such file"},
		{append(base, "--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0"), 2, "given twice"},
	} {
		r := runCLI(t, bin, tt.args...)
		require.Equal(t, tt.code, r.code, "%v: %s", tt.args, r.stderr)
		require.Contains(t, r.stderr, tt.msg, "%v", tt.args)
		require.Empty(t, r.stdout, "%v", tt.args)
	}

	// With a token, a listener on every interface is allowed; requests
	// (sent to loopback only) need the token.
	s := startServe(t, bin, append(base[1:], "--listen", "0.0.0.0:0", "--token-file", good)...)
	require.True(t, strings.HasPrefix(s.url, "http://0.0.0.0:"), s.url)
	local := strings.Replace(s.url, "0.0.0.0", "127.0.0.1", 1)
	resp, err := http.Get(local + "subs.vtt")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	req, _ := http.NewRequest("GET", local+"subs.vtt", nil)
	req.Header.Set("Authorization", "Bearer 0123456789abcdef0123")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	code, _ := s.stop(t, syscall.SIGTERM)
	require.Equal(t, 0, code)
	require.NotContains(t, s.stderr.String(), "0123456789abcdef0123")
}

// TestServeContainer serves an asset straight from a container on Azurite.
func TestServeContainer(t *testing.T) {
	c := azuritetest.NewContainer(t)
	bin := buildCLI(t)
	azuritetest.PutFiles(t, c.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), vodEnc)
	sasFile := filepath.Join(t.TempDir(), "sas")
	sas := c.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour))
	require.NoError(t, os.WriteFile(sasFile, []byte(sas+"\n"), 0o600))
	s := startServe(t, bin, "--keys", vodKeys, "--in", "@"+sasFile)
	want, err := os.ReadFile(filepath.Join(vodPlain, "movie.mp4"))
	require.NoError(t, err)
	resp, err := http.Get(s.url + "movie.mp4") // ranges: azblobcrypt's TestServeFromContainer
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, want, got)
	code, _ := s.stop(t, syscall.SIGTERM)
	require.Equal(t, 0, code)
	sig := sas[strings.Index(sas, "?")+1:]
	require.NotContains(t, s.stderr.String(), sig)
}

// TestServeWarnsOfUnmatched: files no export names are not served, and
// serve says so at the start, as it does of missing ones.
func TestServeWarnsOfUnmatched(t *testing.T) {
	bin := buildCLI(t)
	keys := filepath.Join(testvectors.Dir, "restore", "vod", "keys")
	s := startServe(t, bin, "--keys", filepath.Join(keys, "assetfile-movie.json"), "--keys", filepath.Join(keys, "keyfile.json"), "--in", vodEnc)
	code, _ := s.stop(t, syscall.SIGTERM)
	require.Equal(t, 0, code)
	require.Contains(t, s.stderr.String(), "11 files under --in are named by no export and are not served")
}
