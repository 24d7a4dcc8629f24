package azblobcrypt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/quote"
)

// How long storage operations are retried. Every request belongs to one
// operation (list a page, get properties, open a range, reopen the rest of
// a range whose body broke off, stage a block, commit); an operation is
// retried until it succeeds, fails in a way no retry mends (403, 404, 412),
// or GiveUpAfter has passed since it began (a reopened range: since the
// read that stopped receiving bytes). The first operation to give up makes every
// later operation of the same Container, upload or opened blob fail at once
// with the same error, and cuts short those still retrying: storage that
// failed every try for that long is not answering.
//
// With the defaults a command facing storage that never answers gives up
// within 3 minutes: an operation starts at most when the faults begin, the
// first one in flight then gives up at most DefaultGiveUpAfter (2 min)
// later, whatever its try was doing (a per-try timeout, a stall, a wait for
// Retry-After or back-off: the operation's deadline cuts them all), and
// everything after it fails at once. What remains is writing the report.
const (
	// DefaultGiveUpAfter is how long one operation may keep failing when
	// GiveUpAfter is 0.
	DefaultGiveUpAfter = 2 * time.Minute
	// DefaultTryTimeout bounds one try of a request, its body included,
	// when ClientOptions.Retry.TryTimeout is 0: a response that stalls is
	// abandoned and retried. A 4 MiB block or 2 MiB range needs at least
	// 70 KB/s to move within it.
	DefaultTryTimeout = time.Minute
	// MaxGiveUpAfter bounds GiveUpAfter.
	MaxGiveUpAfter = 24 * time.Hour
)

// The back-off between tries when ClientOptions.Retry leaves it 0: from
// 1 s, doubling, at most 30 s (and a Retry-After storage sends, up to
// 30 s). The number of tries is bounded by GiveUpAfter, not counted.
const (
	defaultRetryDelay    = time.Second
	defaultMaxRetryDelay = 30 * time.Second
	unboundedRetries     = 1 << 20
)

// ErrGaveUp is matched by the error of an operation that storage failed
// for the whole GiveUpAfter (resets, 500s, 503s, stalls), and of every
// operation after it.
var ErrGaveUp = errors.New("azblobcrypt: storage kept failing; gave up")

// retrier runs the storage operations of one Container, upload or opened blob
// under one retry budget.
type retrier struct {
	giveUp time.Duration
	retry  policy.RetryOptions // per call, so that other users of the client keep theirs
	// gaveUp is done once an operation gave up, with that operation's
	// *StorageError as its cause.
	gaveUp context.Context
	trip   context.CancelCauseFunc
}

// newRetrier returns the retrier for giveUp (0: the default) and the
// client options to build its SDK client with: a copy of opts (which may
// be nil) whose pipeline records each failed try for the error of an
// operation that gives up. The zero fields of opts.Retry take this
// package's defaults; the retrier applies them per call, so that other
// users of the options keep theirs.
func newRetrier(giveUp time.Duration, opts *blob.ClientOptions) (*retrier, *blob.ClientOptions, error) {
	switch {
	case giveUp == 0:
		giveUp = DefaultGiveUpAfter
	case giveUp < 0 || giveUp > MaxGiveUpAfter:
		return nil, nil, fmt.Errorf("azblobcrypt: %w: GiveUpAfter %v is not between 0 and %v", blobcrypt.ErrInvalidOptions, giveUp, MaxGiveUpAfter)
	}
	var o blob.ClientOptions
	if opts != nil {
		o = *opts
	}
	o.PerRetryPolicies = append(append([]policy.Policy(nil), o.PerRetryPolicies...), logFailures{})
	retry := o.Retry
	if retry.MaxRetries == 0 {
		retry.MaxRetries = unboundedRetries
	}
	if retry.TryTimeout == 0 {
		retry.TryTimeout = DefaultTryTimeout
	}
	if retry.RetryDelay == 0 {
		retry.RetryDelay = defaultRetryDelay
	}
	if retry.MaxRetryDelay == 0 {
		retry.MaxRetryDelay = defaultMaxRetryDelay
	}
	r := &retrier{giveUp: giveUp, retry: retry}
	r.gaveUp, r.trip = context.WithCancelCause(context.Background())
	return r, &o, nil
}

// transferDefaults fills in and checks the block size and concurrency of a
// transfer (ContainerOptions, UploadOptions, DownloadOptions).
func transferDefaults(blockSize *int64, concurrency *int) error {
	if *blockSize == 0 {
		*blockSize = DefaultBlockSize
	}
	if *concurrency == 0 {
		*concurrency = DefaultWorkers
	}
	switch {
	case *blockSize < 1 || *blockSize > MaxBlockSize:
		return fmt.Errorf("azblobcrypt: %w: block size %d is outside 1..%d", blobcrypt.ErrInvalidOptions, *blockSize, int64(MaxBlockSize))
	case *concurrency < 1 || *concurrency > MaxWorkers:
		return fmt.Errorf("azblobcrypt: %w: concurrency %d is outside 1..%d", blobcrypt.ErrInvalidOptions, *concurrency, MaxWorkers)
	}
	return nil
}

// errOutOfTime and errGaveUpElsewhere are the causes an operation's context
// is cancelled with.
var (
	errOutOfTime       = errors.New("out of time")
	errGaveUpElsewhere = errors.New("another operation gave up")
)

// do runs one operation, f, under the budget, and returns what f returned;
// op and blobURL name it in an error, which is a *StorageError or a context
// error of ctx.
func do[T any](r *retrier, ctx context.Context, op, blobURL string, f func(ctx context.Context) (T, error)) (T, error) {
	o, err := r.begin(ctx, time.Now(), "", op, blobURL)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := f(o.ctx)
	return v, o.end(err)
}

// operation is one storage operation under the budget. Its context ends
// when GiveUpAfter has passed since it began, when another operation gave
// up, or with the caller's.
type operation struct {
	r       *retrier
	parent  context.Context
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	detach  func() bool
	log     *failureLog
	op, url string
}

// begin starts an operation that began failing at since (a resumed read
// counts from when it stopped delivering bytes) and whose last failure so
// far is last, or "".
func (r *retrier) begin(ctx context.Context, since time.Time, last, op, blobURL string) (*operation, error) {
	if err := r.failed(op, blobURL); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, storageError(op, blobURL, err)
	}
	o := &operation{r: r, parent: ctx, op: op, url: blobURL}
	octx, cancel := context.WithCancelCause(ctx)
	o.cancel = cancel
	left := r.giveUp - time.Since(since)
	o.timer = time.AfterFunc(left, func() { cancel(errOutOfTime) })
	if left <= 0 {
		cancel(errOutOfTime) // before any request, not when the timer's goroutine gets to it
	}
	o.detach = context.AfterFunc(r.gaveUp, func() { cancel(errGaveUpElsewhere) })
	o.log = &failureLog{ctx: octx, tryTimeout: r.retry.TryTimeout, msg: last}
	o.ctx = context.WithValue(policy.WithRetryOptions(octx, r.retry), failureLogKey{}, o.log)
	return o, nil
}

// end ends the operation, which failed with err or succeeded (nil), and
// returns its error: a *StorageError or a context error of the caller's.
func (o *operation) end(err error) error {
	o.timer.Stop()
	o.detach()
	defer o.cancel(nil)
	if err == nil {
		return nil
	}
	if o.parent.Err() == nil {
		switch context.Cause(o.ctx) {
		case errOutOfTime:
			// Not wrapping err: it is the cancellation this package
			// caused, and the caller did not cancel anything.
			e := &StorageError{Op: o.op, URL: redactURL(o.url), kind: ErrGaveUp, gaveUp: o.r.giveUp, last: o.log.last()}
			o.r.trip(e) // unless another operation gave up first
			return o.r.failed(o.op, o.url)
		case errGaveUpElsewhere:
			return o.r.failed(o.op, o.url)
		}
	}
	return storageError(o.op, o.url, err)
}

// gaveUpError returns the error of the first operation that gave up, or
// nil.
func (r *retrier) gaveUpError() error {
	if e, ok := context.Cause(r.gaveUp).(*StorageError); ok {
		return e
	}
	return nil
}

// failed returns, once an operation gave up, the error for op on blobURL:
// what the first one met, under this operation's name.
func (r *retrier) failed(op, blobURL string) error {
	f, ok := context.Cause(r.gaveUp).(*StorageError)
	if !ok {
		return nil
	}
	if f.Op == op && f.URL == redactURL(blobURL) {
		return f
	}
	e := *f
	e.Op, e.URL = op, redactURL(blobURL)
	return &e
}

// failureLog keeps what went wrong last in one operation, for the message
// of an operation that gives up ("last: HTTP 503 ServerBusy").
type failureLog struct {
	ctx        context.Context // the operation's; failures after it ended are its own doing
	tryTimeout time.Duration
	mu         sync.Mutex
	msg        string
}

type failureLogKey struct{}

func (l *failureLog) record(msg string) {
	if l.ctx.Err() != nil {
		return
	}
	l.mu.Lock()
	l.msg = msg
	l.mu.Unlock()
}

func (l *failureLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.msg
}

// logFailures is a per-try policy that records each failed try in the
// operation's failureLog, if it runs under one.
type logFailures struct{}

func (logFailures) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	l, ok := req.Raw().Context().Value(failureLogKey{}).(*failureLog)
	if !ok {
		return resp, err
	}
	switch {
	case err != nil && req.Raw().Context().Err() != nil:
		l.record(fmt.Sprintf("no complete answer within the per-try timeout of %v", l.tryTimeout))
	case err != nil:
		l.record(describe(err))
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
		if code := resp.Header.Get("x-ms-error-code"); code != "" {
			msg += " " + code
		}
		l.record(msg)
	}
	return resp, err
}

// describe is err's text in one line, without the URL (and SAS) a
// transport error carries, or the addresses of a network error.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("HTTP %d %s", re.StatusCode, re.ErrorCode)
	}
	return quote.OneLine(err.Error())
}
