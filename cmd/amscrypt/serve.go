package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/amscrypt/amscrypt/internal/cli"
	"github.com/amscrypt/amscrypt/internal/smallfile"
	"github.com/amscrypt/amscrypt/restore"
	"github.com/amscrypt/amscrypt/serve"
)

const serveSynopsis = `--keys FILE [--keys FILE ...] [--pfx FILE | --private-key FILE]
       --in DIR|URL [--listen ADDR] [--token-file FILE]

Serves the plaintext of a storage-encrypted asset over HTTP without
restoring it, so that players, ffprobe, ffmpeg and packagers read it by
byte range: each request decrypts only its range, into a bounded buffer,
and nothing is written to disk. --in and --keys are as for restore, with
the same matching and head checks: a file whose decrypted head is wrong is
listed but answers 502.

Prints one line on stdout, the base URL, once it is ready; GET / is a JSON
index of the files, GET or HEAD /NAME serves one (byte ranges, If-Range,
ETag); /NAME.ism/manifest(format=m3u8-cmaf|mpd-time-cmaf), HLS or DASH
packaged on the fly as 'amscrypt package' would. Logs a line per request. Runs until SIGINT or SIGTERM,
then lets requests in flight finish (3 s at most) and exits 0.

Plaintext leaves over plain HTTP. --listen defaults to 127.0.0.1:0 (port 0
picks a free port); any address that is not loopback needs --token-file,
and every request must then carry "Authorization: Bearer TOKEN". Put a TLS
proxy in front of it to reach it over a network.`

func runServe(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "serve", serveSynopsis)
	k := fs.KeyExports()
	in := fs.String("in", "", inUsage)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on, HOST:PORT; not loopback only with --token-file")
	tokenFile := fs.String("token-file", "", "file whose first line is the bearer token every request must carry (at least 16 characters)")
	var origins cli.Strings
	fs.Var(&origins, "allow-origin", "a web origin (https://player.example.com) whose pages may read the responses, as a player there must (CORS); repeatable")
	maxInFlight := fs.Int("max-in-flight", serve.DefaultMaxInFlight, "responses streaming file bytes at once; more wait (memory: this x 256 KiB)")
	if err := fs.Parse(args, "keys", "in"); err != nil {
		return err
	}
	if _, port, err := net.SplitHostPort(*listen); err != nil || strings.ContainsFunc(*listen, unicode.IsSpace) {
		return cli.Usagef("--listen %q: want HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free one)", *listen)
	} else if p, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(p, 10) != port {
		return cli.Usagef("--listen %q: the port must be 0 to 65535", *listen)
	}
	for _, o := range origins {
		if err := serve.CheckOrigin(o); err != nil {
			return cli.Usagef("--allow-origin: %v", err)
		}
	}
	if *maxInFlight < 1 || *maxInFlight > 4096 {
		return cli.Usagef("--max-in-flight must be 1 to 4096")
	}
	var token string
	if fs.Given("token-file") {
		var err error
		if token, err = readToken(e, *tokenFile); err != nil {
			return err
		}
	}
	// An IPv4 address listens on IPv4 only: Go's "tcp" would take 0.0.0.0
	// for every address, IPv6 ones included.
	network := "tcp"
	if h, _, _ := net.SplitHostPort(*listen); net.ParseIP(h) != nil && net.ParseIP(h).To4() != nil {
		network = "tcp4"
	}
	ln, err := net.Listen(network, *listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() && token == "" {
		return cli.Usagef("--listen %s is not a loopback address: plaintext would leave this machine to anyone who asks; give --token-file (and put a TLS proxy in front)", *listen)
	}
	a, err := openAsset(e, k, k.Keys, *in, "", true, nil)
	if err != nil {
		return err
	}
	s, err := serve.New(e.Ctx, a.Source, a.Plan, &serve.Options{Token: token, Log: e.Stderr, MaxInFlight: *maxInFlight, AllowOrigins: origins})
	if err != nil {
		return err
	}
	idx, err := s.Index()
	if err != nil {
		return err
	}
	served, failed, missing := idx.Summary[restore.StatusChecked], idx.Summary[restore.StatusFailed], idx.Summary[restore.StatusMissing]
	if served == 0 {
		return fmt.Errorf("nothing to serve: %d files failed their check (a wrong key or IV, or a truncated file), %d named by the exports are not under --in, %d under --in are named by no export (restore --check says which)",
			failed, missing, idx.Summary[restore.StatusUnmatched])
	}
	if failed > 0 {
		e.Warnf("serve", "%d of %d files failed their check and answer 502 (GET / says why)", failed, len(idx.Files))
	}
	if missing > 0 {
		e.Warnf("serve", "%d files the exports name are not under --in (GET / lists them as missing)", missing)
	}
	if n := idx.Summary[restore.StatusUnmatched]; n > 0 {
		e.Warnf("serve", "%d files under --in are named by no export and are not served (GET / lists them as unmatched)", n)
	}
	// The URL names the address as given, with the port the kernel picked.
	host := addr.IP.String()
	if h, _, _ := net.SplitHostPort(*listen); net.ParseIP(h) != nil {
		host = net.ParseIP(h).String()
	}
	// No trailing slash: "$URL/movie.mp4" is then right.
	if _, err := fmt.Fprintf(e.Stdout, "http://%s\n", net.JoinHostPort(host, strconv.Itoa(addr.Port))); err != nil {
		return err
	}
	return s.Serve(e.Ctx, ln)
}

// readToken reads the bearer token from the first line of path.
func readToken(e *cli.Env, path string) (string, error) {
	data, err := smallfile.Read(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	defer clear(data)
	line, _, _ := strings.Cut(string(data), "\n")
	token := strings.TrimSpace(line)
	if token == "" {
		return "", cli.Usagef("--token-file %s: the first line holds no token", path)
	}
	if err := serve.CheckToken(token); err != nil {
		return "", cli.Usagef("--token-file %s: %v (make one with: openssl rand -hex 32)", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		e.Warnf("serve", "--token-file %s can be read by other users (mode %04o); chmod 600 it", path, fi.Mode().Perm())
	}
	return token, nil
}
