// Command staticserve is the baseline bench/serve.sh measures `amscrypt serve`
// against: the standard library's http.FileServer over a directory of
// plaintext, so both servers share Go's HTTP stack and range handling and
// differ only in what `amscrypt serve` adds (decrypting, and the copy through
// user space that decrypting needs).
//
//	go run ./bench/staticserve -root DIR [-listen 127.0.0.1:0] [-no-sendfile]
//
// Like `amscrypt serve` it prints its base URL as the one line on stdout. By
// default a file body goes to the socket with sendfile(2) (http.ServeContent
// over an *os.File), which never touches user space; -no-sendfile copies the
// body through a 256 KiB user-space buffer instead (read, then write, as
// `amscrypt serve` does with its decrypt buffer of the same size): the least
// a server that must transform the bytes can do. It exits on SIGINT or
// SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// copyBufferSize is the buffer -no-sendfile copies through: serve.BufferSize,
// what `amscrypt serve` decrypts into per response.
const copyBufferSize = 256 << 10

// bufferedCopy hides http.ResponseWriter's own io.ReaderFrom (which would
// use sendfile) behind one that copies through a copyBufferSize buffer.
type bufferedCopy struct{ w http.ResponseWriter }

func (o bufferedCopy) Header() http.Header         { return o.w.Header() }
func (o bufferedCopy) Write(p []byte) (int, error) { return o.w.Write(p) }
func (o bufferedCopy) WriteHeader(code int)        { o.w.WriteHeader(code) }

func (o bufferedCopy) ReadFrom(r io.Reader) (int64, error) {
	// struct{ io.Writer } has no ReadFrom of its own, so CopyBuffer uses buf.
	return io.CopyBuffer(struct{ io.Writer }{o.w}, r, make([]byte, copyBufferSize))
}

func main() {
	root := flag.String("root", "", "directory to serve (required)")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	noSendfile := flag.Bool("no-sendfile", false, "copy file bodies through a 256 KiB user-space buffer instead of sendfile(2)")
	flag.Parse()
	if *root == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	log.SetPrefix("staticserve: ")
	log.SetFlags(0)

	var h http.Handler = http.FileServer(http.Dir(*root))
	if *noSendfile {
		fs := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fs.ServeHTTP(bufferedCopy{w}, r) })
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("http://%s/\n", ln.Addr())

	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			srv.Close()
		}
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	<-done // Serve returns as soon as Shutdown starts; let in-flight requests end
}
