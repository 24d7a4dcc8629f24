// Command amscrypt-blob uploads files to Azure Blob Storage encrypted with
// Media Services storage encryption, and downloads and decrypts them, whole
// or a byte range at a time.
//
//	amscrypt-blob upload --key-file KEY --in FILE --url LOCATOR_PATH
//	amscrypt-blob download --key-file KEY --asset-file FILE.json --url BLOB_URL --out FILE
//
// upload prints the AssetFile JSON (the MERGE /Files body) on stdout and
// nothing else. An interrupted upload resumes when run again. Run a command
// with --help for its flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/internal/smallfile"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: amscrypt-blob <command> [flags]

Commands:
  upload    encrypt a file and upload it through a SAS locator; prints the AssetFile JSON
  download  download an encrypted blob, or a byte range of it, and decrypt it to a file

Run "amscrypt-blob <command> --help" for a command's flags.
`

// errUsage marks errors in the command line itself (exit status 2).
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "upload":
		err = upload(ctx, args[1:], stdout, stderr)
	case "download":
		err = download(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "amscrypt-blob: unknown command %q (commands: upload, download; see --help)\n", args[0])
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "amscrypt-blob %s: %s (see --help)\n", args[0], oneLine(strings.TrimPrefix(err.Error(), "usage: ")))
		return 2
	}
	fmt.Fprintf(stderr, "amscrypt-blob %s: %s\n", args[0], oneLine(err.Error()))
	return 1
}

// oneLine keeps an error to the single line the command promises.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// flagSet is a command's flags and its help text.
type flagSet struct {
	*flag.FlagSet
	help func()
}

// newFlagSet returns a flag set that reports flag errors through run rather
// than printing them, and whose help goes to stdout when asked for.
func newFlagSet(name, synopsis string, stdout io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // Parse calls it on any error; parse prints help only for --help
	return &flagSet{FlagSet: fs, help: func() {
		fmt.Fprintf(stdout, "usage: amscrypt-blob %s\n\nFlags (one or two dashes):\n", synopsis)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}}
}

// parse parses args, turning every problem into an errUsage error and
// --help into flag.ErrHelp after printing the help.
func (fs *flagSet) parse(args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.help()
		return err
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// sizeFlag is a byte count that accepts K, M, G (powers of 1024, with or
// without "iB") after the number.
type sizeFlag struct {
	n   int64
	set bool
}

func (s *sizeFlag) String() string { return strconv.FormatInt(s.n, 10) }

func (s *sizeFlag) Set(v string) error {
	num, mul := v, int64(1)
	for _, u := range []struct {
		suffix string
		mul    int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if strings.HasSuffix(v, u.suffix) {
			num, mul = strings.TrimSuffix(v, u.suffix), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mul {
		return fmt.Errorf("%q is not a byte count (a whole number, optionally with K, M or G)", v)
	}
	s.n, s.set = n*mul, true
	return nil
}

// readURL returns a --url value, reading it from a file if it starts with
// "@" so that the SAS need not appear in the process list.
// checkTransfer checks the --concurrency and --block-size that upload and
// download share.
func checkTransfer(concurrency int, blockSize sizeFlag) error {
	switch {
	case concurrency < 1 || concurrency > azblobcrypt.MaxConcurrency:
		return fmt.Errorf("%w: --concurrency must be 1 to %d", errUsage, azblobcrypt.MaxConcurrency)
	case blockSize.set && (blockSize.n < 1 || blockSize.n > azblobcrypt.MaxBlockSize):
		return fmt.Errorf("%w: --block-size must be 1 byte to %dMiB", errUsage, azblobcrypt.MaxBlockSize>>20)
	}
	return nil
}

func readURL(v, flagName string) (string, error) {
	if v == "" {
		return "", fmt.Errorf("%w: --%s is required", errUsage, flagName)
	}
	if !strings.HasPrefix(v, "@") {
		return v, nil
	}
	data, err := smallfile.Read(v[1:])
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flagName, err)
	}
	u := strings.TrimSpace(string(data))
	if u == "" || strings.ContainsAny(u, "\r\n") {
		return "", fmt.Errorf("--%s: %s must hold exactly one URL", flagName, v[1:])
	}
	return u, nil
}

// progress returns a callback that redraws one status line on stderr, or
// nil when stderr is not a terminal or quiet is set, and a function that
// ends the line.
func progress(verb string, quiet bool, stderr io.Writer) (func(done, total int64), func()) {
	if quiet || stderr != io.Writer(os.Stderr) {
		return nil, func() {}
	}
	fi, err := os.Stderr.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil, func() {}
	}
	var last time.Time
	drawn := false
	update := func(done, total int64) {
		if done < total && time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		pct := 100.0
		if total > 0 {
			pct = 100 * float64(done) / float64(total)
		}
		fmt.Fprintf(stderr, "\r%s %.1f / %.1f MiB (%.0f%%)", verb, float64(done)/(1<<20), float64(total)/(1<<20), pct)
		drawn = true
	}
	return update, func() {
		if drawn {
			fmt.Fprintln(stderr)
		}
	}
}
