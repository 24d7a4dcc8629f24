// Package serve answers HTTP requests for the plaintext of a
// storage-encrypted asset without restoring it: players, ffprobe and
// packagers read the files by byte range, each range decrypted on the fly
// from the encrypted source (a directory or, through azblobcrypt, a blob
// container), so the plaintext never touches a disk.
//
// A Server is made from the same plan and matching (package keyexport) and
// head checks as a restore (package restore): a file whose decrypted head
// does not look like its format is listed but never served, and nothing
// outside the plan can be reached. The protocol (ranges, multiple ranges,
// If-Range, If-Match, If-None-Match, HEAD, 416) is http.ServeContent's,
// over a blobcrypt.File; what this package adds is policy: requests come
// from loopback or carry a bearer token, and every response is bounded in
// memory and time.
package serve

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/netutil"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/cmaf"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/cors"
	"github.com/amscrypt/amscrypt/internal/httprange"
	"github.com/amscrypt/amscrypt/internal/quote"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/livearchive"
	"github.com/amscrypt/amscrypt/media"
	"github.com/amscrypt/amscrypt/restore"
)

// Defaults of Options.
const (
	// DefaultMaxInFlight is how many responses stream file bytes at once;
	// more wait their turn. Each holds one BufferSize buffer, so file
	// buffers stay within DefaultMaxInFlight x BufferSize = 16 MiB however
	// many clients connect.
	DefaultMaxInFlight = 64
	// BufferSize is the buffer each streaming response reads, decrypts and
	// writes through.
	BufferSize = 256 << 10
	// DrainTimeout is how long Serve lets requests in flight finish after
	// its context is cancelled before it closes their connections.
	DrainTimeout = 3 * time.Second
	// DefaultStall is how long a response may make no progress, waiting
	// for its client to take the next 64 KiB or for its source to give
	// the next bytes, before it is cut off and its streaming slot freed: a
	// paused player that stops reading asks again when it needs more.
	DefaultStall = time.Minute
	// MinTokenLen is the shortest bearer token Options.Token may be.
	MinTokenLen = 16
	// DefaultMaxConns is how many client connections Serve holds open at
	// once; further clients wait in the kernel's accept queue. With each
	// connection's buffers and goroutines, this keeps memory bounded
	// however many clients connect.
	DefaultMaxConns = 1024
	// MaxRanges is the most ranges one request may ask for: each costs a
	// read of the source (for a blob, a ranged GET).
	MaxRanges = httprange.Max
)

// Options configure a Server. The zero value serves loopback clients
// without a token and logs nothing.
type Options struct {
	// Token, if set, must come with every request as
	// "Authorization: Bearer <Token>" (compared in constant time); others
	// get 401, wherever they come from. At least MinTokenLen visible ASCII
	// characters. Without a token, ServeHTTP answers only requests that
	// come from a loopback address (Request.RemoteAddr) and name a
	// loopback address or "localhost" as their Host, which keeps web pages
	// from reaching the server through DNS rebinding; every other request
	// gets 403. So a Server mounted on any listener, by Serve or by
	// another program's http.Server, gives plaintext to no other machine
	// unless it has a token.
	Token string
	// Log, if set, receives one line per request: time, client, method,
	// path, Range, status, bytes sent, duration, and why a response was
	// cut off. It never holds key bytes, tokens or query strings.
	Log io.Writer
	// Workers is the number of head checks in flight in New; 0 means
	// restore's default.
	Workers int
	// MaxInFlight bounds the responses streaming file bytes at once; 0
	// means DefaultMaxInFlight.
	MaxInFlight int
	// MaxConns bounds the connections Serve holds open; 0 means
	// DefaultMaxConns.
	MaxConns int
	// Stall is how long a response may wait for its client or its source
	// before it is cut off; 0 means DefaultStall.
	Stall time.Duration
	// AllowOrigins are the web origins ("https://player.example.com") whose
	// pages may read responses (CORS), as a player such as hls.js on
	// another origin must; none by default, and never "*": any page the
	// user visits could read the plaintext otherwise. The token and peer
	// rules apply to their requests all the same (a preflight carries no
	// token, and is answered without one).
	AllowOrigins []string
}

// Server is an http.Handler serving the plaintext of one asset. It is safe
// for concurrent use.
type Server struct {
	key   contentkey.Key
	src   restore.Source
	files map[string]*file
	index []byte        // GET / body
	token []byte        // SHA-256 of Options.Token, nil for none
	sem   chan struct{} // streaming responses
	conns int           // Options.MaxConns
	stall time.Duration // Options.Stall
	pool  sync.Pool     // *[]byte of BufferSize

	layouts livearchive.Layouts // of stitched live-archive tracks
	origin  *cmaf.Origin        // each .ism packaged on the fly
	origins cors.Origins        // Options.AllowOrigins

	logMu sync.Mutex
	log   io.Writer
}

// file is one path the server may answer for.
type file struct {
	src     restore.SourceFile
	iv      contentkey.IV
	ctype   string
	etag    string
	failure string                     // why it is not served; "" when it is
	track   *livearchive.StitchedTrack // nil for a file of the asset
}

// Index is the document GET / returns: every file of the asset and the
// plan, with what the head check found.
type Index struct {
	Files   []IndexEntry           `json:"files"`
	Summary map[restore.Status]int `json:"summary"`
}

// IndexEntry is one file of an Index: its line of restore --check's
// report, and the Content-Type it is served with. Served files have status
// "checked"; a "failed" file answers 502 with Error; "unmatched" and
// "missing" files answer 404.
type IndexEntry struct {
	restore.FileReport
	Type string `json:"type,omitempty"`
}

// listed is a Source whose listing was taken once, so that the head checks
// and every later request see the same versions of the files.
type listed struct {
	restore.Source
	files []restore.SourceFile
}

func (l listed) List(context.Context) ([]restore.SourceFile, error) { return l.files, nil }

// New lists src once, matches it to plan and decrypts and checks the head
// of every matched file, as restore --check does. The listing is final:
// files added later are not served, and a container's blobs are read at
// the ETags listed.
func New(ctx context.Context, src restore.Source, plan *keyexport.Plan, opts *Options) (*Server, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	switch {
	case o.MaxInFlight == 0:
		o.MaxInFlight = DefaultMaxInFlight
	case o.MaxInFlight < 0 || o.MaxInFlight > 4096:
		return nil, fmt.Errorf("serve: %w: MaxInFlight %d is not 0 to 4096", blobcrypt.ErrInvalidOptions, o.MaxInFlight)
	}
	switch {
	case o.MaxConns == 0:
		o.MaxConns = DefaultMaxConns
	case o.MaxConns < 0 || o.MaxConns > 1<<20:
		return nil, fmt.Errorf("serve: %w: MaxConns %d is not 0 to %d", blobcrypt.ErrInvalidOptions, o.MaxConns, 1<<20)
	}
	switch {
	case o.Stall == 0:
		o.Stall = DefaultStall
	case o.Stall < 0:
		return nil, fmt.Errorf("serve: %w: negative Stall %v", blobcrypt.ErrInvalidOptions, o.Stall)
	}
	if err := CheckToken(o.Token); err != nil {
		return nil, err
	}
	origins, err := cors.New(o.AllowOrigins, blobcrypt.ErrInvalidOptions)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	files, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	report, err := restore.Run(ctx, nil, listed{src, files}, plan, &restore.RunOptions{Check: true, Workers: o.Workers})
	if err != nil {
		return nil, err
	}
	s := &Server{key: plan.Key, src: src, files: map[string]*file{}, sem: make(chan struct{}, o.MaxInFlight),
		conns: o.MaxConns, stall: o.Stall, log: o.Log, layouts: livearchive.Layouts{Max: MaxLayouts}, origins: origins}
	if o.Token != "" {
		sum := sha256.Sum256([]byte(o.Token))
		s.token = sum[:]
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	byPath := make(map[string]restore.SourceFile, len(files))
	paths := make([]string, 0, len(files))
	for _, f := range files {
		byPath[f.Path] = f
		paths = append(paths, f.Path)
	}
	matches := plan.Match(paths).Matches
	byName := make(map[string]*keyexport.Match, len(matches))
	for i := range matches {
		byName[matches[i].Path] = &matches[i]
	}
	idx := Index{Files: []IndexEntry{}, Summary: report.Summary}
	for _, fr := range report.Files {
		e := IndexEntry{FileReport: fr}
		if m := byName[fr.Name]; m != nil {
			f := &file{src: byPath[fr.Name], iv: m.Entry.IV}
			f.ctype = media.ContentType(fr.Name, m.MimeType(), m.Fragment)
			f.etag = etag(f.src, f.iv, nonce[:])
			if fr.Status != restore.StatusChecked {
				f.failure = fr.Error
				if f.failure == "" {
					f.failure = "not served: " + string(fr.Status)
				}
			}
			s.files[fr.Name] = f
			e.Type = f.ctype
		}
		idx.Files = append(idx.Files, e)
	}
	idx.Files = append(idx.Files, s.addTracks(ctx, files, matches, report, nonce[:])...)
	s.origin = &cmaf.Origin{Files: s, Timeout: s.stall, Slots: s.sem}
	if s.index, err = json.MarshalIndent(idx, "", "  "); err != nil {
		return nil, err
	}
	s.index = append(s.index, '\n')
	return s, nil
}

// CheckToken refuses a token too short to guess or one that cannot travel
// in an Authorization header; "" (no token) passes.
func CheckToken(t string) error {
	if t == "" {
		return nil
	}
	if len(t) < MinTokenLen {
		return fmt.Errorf("serve: %w: the token has %d characters; at least %d are needed", blobcrypt.ErrInvalidOptions, len(t), MinTokenLen)
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] > '~' {
			return fmt.Errorf("serve: %w: the token holds a space, control or non-ASCII character at byte %d", blobcrypt.ErrInvalidOptions, i)
		}
	}
	return nil
}

// etag names one version of a file's plaintext: the source's identity (the
// path, size and, for a blob, its ETag), the IV, and a nonce of this
// server's start. Never the key: so that a restart with another export
// (another key, the same blobs) cannot have a client splice one plaintext
// onto the other with If-Range, every start has ETags of its own, as a
// directory, whose files carry no version, needs anyway.
func etag(f restore.SourceFile, iv contentkey.IV, nonce []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "amscrypt serve\x00%s\x00%d\x00%s\x00%s\x00", f.Path, f.Size, f.Tag, iv)
	h.Write(nonce)
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// Index returns the document GET / serves.
func (s *Server) Index() (*Index, error) {
	var idx Index
	if err := json.Unmarshal(s.index, &idx); err != nil {
		return nil, err
	}
	return &idx, nil
}

// Serve answers requests on ln, holding at most MaxConns connections open,
// until ctx is cancelled, then lets the requests in flight finish for up
// to DrainTimeout before closing their connections, and returns nil. Other
// errors are those of accepting connections.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		// An idle kept-alive connection holds one of MaxConns slots.
		IdleTimeout:    30 * time.Second,
		MaxHeaderBytes: 64 << 10,
		// Requests must not be cancelled by ctx before draining: they get
		// a context of their own, cancelled when their client goes away.
		BaseContext: func(net.Listener) context.Context { return context.Background() },
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(netutil.LimitListener(ln, s.conns)) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	drain, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	if err := hs.Shutdown(drain); err != nil {
		hs.Close()
	}
	<-done
	return nil
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &response{ResponseWriter: rw, s: s, ctx: r.Context()}
	defer func() { s.logRequest(r, w, time.Since(start)) }()

	// Without a token, a preflight is answered only for a loopback peer;
	// with one, it is answered (it carries no token), the request it
	// precedes then needing the token.
	refuse := s.refuse
	if s.token != nil {
		refuse = nil
	}
	if s.origins.Apply(w, r, refuse) {
		return
	}
	if msg, status := s.refuse(r); status != 0 {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="amscrypt"`)
		}
		plainError(w, msg, status)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		plainError(w, "method not allowed: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/" {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", fmt.Sprint(len(s.index)))
		if r.Method == http.MethodGet {
			w.Write(s.index)
		}
		return
	}
	if s.streaming(w, r) {
		return
	}
	f := s.lookup(r)
	switch {
	case f == nil:
		plainError(w, "not found", http.StatusNotFound)
	case f.failure != "":
		plainError(w, "not served: "+f.failure, http.StatusBadGateway)
	default:
		s.serveFile(w, r, f)
	}
}

// refuse returns a message and status for a request that is not allowed
// at all, or 0.
func (s *Server) refuse(r *http.Request) (string, int) {
	if s.token == nil {
		if host, _, _ := net.SplitHostPort(r.RemoteAddr); !loopback(host) {
			return "this server answers only loopback clients (or set a token)", http.StatusForbidden
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !loopback(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")) {
			return "this server answers only requests to a loopback address or localhost (or set a token)", http.StatusForbidden
		}
		return "", 0
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	sum := sha256.Sum256([]byte(strings.TrimLeft(tok, " ")))
	if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], s.token) != 1 {
		return "a valid Authorization: Bearer token is required", http.StatusUnauthorized
	}
	return "", 0
}

// CheckOrigin refuses an AllowOrigins entry that is not a web origin:
// scheme, host and optional port, nothing else ("*" included).
func CheckOrigin(o string) error {
	_, err := cors.New([]string{o}, blobcrypt.ErrInvalidOptions)
	return err
}

// loopback reports whether host is a loopback address or localhost.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// lookup finds the file a request names. Only the exact names of the
// plan's files answer: an encoded slash, "..", a doubled slash or an
// absolute path never equals one.
func (s *Server) lookup(r *http.Request) *file {
	if strings.Contains(strings.ToLower(r.URL.RawPath), "%2f") {
		return nil
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/")
	if !ok {
		return nil
	}
	return s.files[name]
}

// plainError answers status with msg as a text body.
func plainError(w http.ResponseWriter, msg string, status int) {
	h := w.Header()
	for _, k := range []string{"Content-Length", "Content-Range", "ETag", "Accept-Ranges"} {
		h.Del(k)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// logRequest writes the access-log line of a request.
func (s *Server) logRequest(r *http.Request, w *response, d time.Duration) {
	if s.log == nil {
		return
	}
	rng := "-"
	if v := r.Header.Get("Range"); v != "" {
		rng = fmt.Sprintf("%q", truncate(v, 200))
	}
	status := w.status
	switch {
	case status != 0:
	case r.Context().Err() != nil:
		status = 499 // the client went away before any answer (nginx's code)
	default:
		status = http.StatusOK
	}
	aborted := ""
	if w.aborted != nil {
		aborted = " aborted"
		if !errors.Is(w.aborted, context.Canceled) {
			aborted += ": " + quote.OneLine(w.aborted.Error())
		}
	}
	line := fmt.Sprintf("%s %s %s %q range=%s %d %d %s%s\n", time.Now().UTC().Format(time.RFC3339Nano),
		r.RemoteAddr, truncate(r.Method, 16), truncate(r.URL.EscapedPath(), 512), rng, status, w.bytes,
		d.Round(time.Microsecond), aborted)
	s.logMu.Lock()
	defer s.logMu.Unlock()
	io.WriteString(s.log, line)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
