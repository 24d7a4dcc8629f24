// Package workpool is the one ordered prefetcher behind every parallel
// transfer: file encryption and decryption (blobcrypt), restoring a file
// (restore), and blob uploads and downloads (azblobcrypt). Workers run the
// parallel stage of numbered items (a read, a decryption, a ranged GET),
// each into a buffer from a bounded pool; the calling goroutine runs the
// serial stage (a write, a hash, progress) on the results in item order.
package workpool

import (
	"context"
	"runtime"

	"golang.org/x/sync/errgroup"
)

// Run calls work(ctx, buf, i) for every item i in [0, n) on at most workers
// goroutines, and done(i, p) on the calling
// goroutine with the slice p that work returned, in the order of i. Work
// runs up to 2 × workers + 1 items ahead of done, so that one slow item (a
// GET that is retried) does not idle the others; there are
// min(2 × workers + 2, n) buffers of bufSize bytes whatever n is, and a
// buffer is reused once done returns. With workers < 1 everything runs in
// turn on the calling goroutine, with one buffer.
//
// At the first error from work or done, or when ctx is done, Run stops
// handing out items and returns that error (the first work failed with,
// not a cancellation it caused), else ctx's. It returns only after every
// goroutine it started has stopped, also when done panics: the panic then
// continues on the caller's goroutine.
//
// One goroutine doing all of the serial stage loses nothing where that
// stage is a write: the kernel serializes writes to one file (tmpfs and
// ext4 take the inode lock), and workers that wrote for themselves would
// only wait on that lock instead of reading ahead (bench/README.md).
func Run(ctx context.Context, n int64, workers, bufSize int,
	work func(ctx context.Context, buf []byte, i int64) ([]byte, error),
	done func(i int64, p []byte) error) (err error) {
	if n <= 0 {
		return nil
	}
	if workers < 1 {
		return sequential(ctx, n, bufSize, work, done)
	}
	type item struct {
		i   int64
		buf []byte
	}
	type result struct {
		buf, p []byte
		err    error
	}
	// Each of the slots holds one item in flight and its buffer: item i
	// is handed out with the buffer of item i-slots once done is through
	// with it, and its result goes to results[i%slots], which is empty by
	// then, so no send ever blocks.
	slots := min(int64(2*workers+2), n)
	workers = int(min(int64(workers), slots))
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(ctx)
	todo := make(chan item, slots)
	results := make([]chan result, slots)
	for k := range results {
		results[k] = make(chan result, 1)
		todo <- item{int64(k), make([]byte, bufSize)}
	}
	// On every return, a panic in done included: stop the workers and wait
	// for them, so that nothing outlives this call. When an item failed,
	// return the first error, not a cancellation it caused.
	failed := false
	defer func() {
		close(todo)
		cancel()
		if first := g.Wait(); failed && first != nil {
			err = first
		}
	}()
	for range workers {
		g.Go(func() error {
			for it := range todo {
				if gctx.Err() != nil {
					return nil
				}
				p, err := work(gctx, it.buf, it.i)
				results[it.i%slots] <- result{it.buf, p, err}
				if err != nil {
					return err
				}
				// The send made the calling goroutine runnable on this
				// processor, but it would run only once this worker blocks,
				// an item or more later. It is the serial stage: let it run
				// now (bench/README.md: 2 workers 1.6x -> 1.8x 1 worker).
				runtime.Gosched()
			}
			return nil
		})
	}
	for i := range n {
		var r result
		select {
		case r = <-results[i%slots]:
		case <-gctx.Done():
		}
		if r.err != nil || gctx.Err() != nil {
			failed = true
			return parent.Err() // unless an item failed: see above
		}
		if err := done(i, r.p); err != nil {
			return err
		}
		if next := i + slots; next < n {
			todo <- item{next, r.buf}
		}
	}
	return nil
}

func sequential(ctx context.Context, n int64, bufSize int,
	work func(ctx context.Context, buf []byte, i int64) ([]byte, error),
	done func(i int64, p []byte) error) error {
	buf := make([]byte, bufSize)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := work(ctx, buf, i)
		if err != nil {
			return err
		}
		if err := done(i, p); err != nil {
			return err
		}
	}
	return nil
}
