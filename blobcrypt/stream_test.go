package blobcrypt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
)

// chunkedWriter calls Write with pieces of the given sizes, cycling.
func writeChunked(w io.Writer, p []byte, sizes []int) error {
	for i := 0; len(p) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(p))
		if _, err := w.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func TestWriterChunking(t *testing.T) {
	key := testKey(t)
	const iv = 397304628502661816
	pt := plaintext(3*streamBufferSize + 1234)
	for _, off := range []int64{0, 5, 16, 1<<40 + 3} {
		want := encryptAll(t, key, iv, pt, off)
		for _, sizes := range [][]int{{1}, {15, 17}, {streamBufferSize - 1}, {streamBufferSize, 1}, {streamBufferSize + 1}, {len(pt)}, {3, 100000, 7}} {
			t.Run(fmt.Sprintf("off=%d/%v", off, sizes), func(t *testing.T) {
				var buf bytes.Buffer
				w, err := NewWriter(&buf, key, iv, off)
				require.NoError(t, err)
				require.NoError(t, writeChunked(w, pt, sizes))
				require.True(t, bytes.Equal(want, buf.Bytes()))
			})
		}
		t.Run(fmt.Sprintf("off=%d/ReadFrom", off), func(t *testing.T) {
			for name, r := range map[string]io.Reader{
				"plain":   bytes.NewReader(pt),
				"onebyte": iotest.OneByteReader(bytes.NewReader(pt)),
				"half":    iotest.HalfReader(bytes.NewReader(pt)),
				"dataerr": iotest.DataErrReader(bytes.NewReader(pt)),
			} {
				var buf bytes.Buffer
				w, err := NewWriter(&buf, key, iv, off)
				require.NoError(t, err)
				n, err := io.Copy(w, r) // uses ReadFrom
				require.NoError(t, err, name)
				require.Equal(t, int64(len(pt)), n, name)
				require.True(t, bytes.Equal(want, buf.Bytes()), name)
			}
		})
	}
}

func TestWriterDoesNotModifyInput(t *testing.T) {
	w, err := NewWriter(io.Discard, testKey(t), 1, 0)
	require.NoError(t, err)
	p := plaintext(100000)
	_, err = w.Write(p)
	require.NoError(t, err)
	require.Equal(t, plaintext(100000), p)
}

// failingWriter accepts limit bytes, then fails, possibly mid-Write.
type failingWriter struct {
	buf   bytes.Buffer
	limit int
}

var errDiskFull = errors.New("test: disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	room := f.limit - f.buf.Len()
	if len(p) <= room {
		return f.buf.Write(p)
	}
	f.buf.Write(p[:max(room, 0)])
	return max(room, 0), errDiskFull
}

func TestWriterStickyError(t *testing.T) {
	key := testKey(t)
	pt := plaintext(2*streamBufferSize + 10)
	want := encryptAll(t, key, 9, pt, 0)
	for _, limit := range []int{0, 1, 100, streamBufferSize, streamBufferSize + 1, 2*streamBufferSize + 9} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			fw := &failingWriter{limit: limit}
			w, err := NewWriter(fw, key, 9, 0)
			require.NoError(t, err)
			n, err := w.Write(pt)
			require.ErrorIs(t, err, errDiskFull)
			require.Equal(t, limit, n, "count must be what reached the writer")
			require.True(t, bytes.Equal(want[:limit], fw.buf.Bytes()))

			fw.limit = len(pt) * 2 // the writer recovers, the stream position does not
			n, err = w.Write([]byte("more"))
			require.ErrorIs(t, err, errDiskFull)
			require.Zero(t, n)
			m, err := w.ReadFrom(bytes.NewReader([]byte("more")))
			require.ErrorIs(t, err, errDiskFull)
			require.Zero(t, m)
			require.True(t, bytes.Equal(want[:limit], fw.buf.Bytes()), "nothing written after the failure")
		})
	}
	t.Run("ReadFrom", func(t *testing.T) {
		fw := &failingWriter{limit: 1000}
		w, err := NewWriter(fw, key, 9, 0)
		require.NoError(t, err)
		n, err := w.ReadFrom(bytes.NewReader(pt))
		require.ErrorIs(t, err, errDiskFull)
		require.Equal(t, int64(1000), n)
		_, err = w.Write(pt)
		require.ErrorIs(t, err, errDiskFull)
	})
	t.Run("short write", func(t *testing.T) {
		w, err := NewWriter(shortWriter{}, key, 9, 0)
		require.NoError(t, err)
		n, err := w.Write(pt[:10])
		require.ErrorIs(t, err, io.ErrShortWrite)
		require.Equal(t, 5, n)
	})
}

// shortWriter violates io.Writer by writing half without an error.
type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

func TestWriterReadFromReadError(t *testing.T) {
	key := testKey(t)
	pt := plaintext(5000)
	want := encryptAll(t, key, 3, pt, 0)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, key, 3, 0)
	require.NoError(t, err)
	errBoom := errors.New("test: boom")
	n, err := w.ReadFrom(io.MultiReader(bytes.NewReader(pt[:1000]), iotest.ErrReader(errBoom)))
	require.ErrorIs(t, err, errBoom)
	require.Equal(t, int64(1000), n)
	// A read error does not break the Writer: the stream is still in step.
	_, err = w.Write(pt[1000:])
	require.NoError(t, err)
	require.Equal(t, want, buf.Bytes())
}

func TestReaderChunking(t *testing.T) {
	key := testKey(t)
	const iv = 1<<64 - 1
	pt := plaintext(3*streamBufferSize + 1234)
	for _, off := range []int64{0, 7, 1 << 50} {
		ct := encryptAll(t, key, iv, pt, off)
		readers := map[string]func() io.Reader{
			"plain":   func() io.Reader { return bytes.NewReader(ct) },
			"onebyte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(ct)) },
			"half":    func() io.Reader { return iotest.HalfReader(bytes.NewReader(ct)) },
			"dataerr": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(ct)) },
			"timeout": func() io.Reader { return iotest.TimeoutReader(bytes.NewReader(ct)) },
		}
		for name, mk := range readers {
			t.Run(fmt.Sprintf("off=%d/%s", off, name), func(t *testing.T) {
				r, err := NewReader(mk(), key, iv, off)
				require.NoError(t, err)
				var got []byte
				buf := make([]byte, 1000)
				for {
					n, err := r.Read(buf)
					got = append(got, buf[:n]...)
					if err == io.EOF {
						break
					}
					if errors.Is(err, iotest.ErrTimeout) {
						continue // a transient error must leave the stream in step
					}
					require.NoError(t, err)
				}
				require.True(t, bytes.Equal(pt, got))

				// WriteTo through io.Copy.
				r, err = NewReader(mk(), key, iv, off)
				require.NoError(t, err)
				var out bytes.Buffer
				n, err := io.Copy(&out, r)
				if name == "timeout" {
					require.ErrorIs(t, err, iotest.ErrTimeout)
					_, err = io.Copy(&out, r)
					n = int64(out.Len())
				}
				require.NoError(t, err)
				require.Equal(t, int64(len(pt)), n)
				require.True(t, bytes.Equal(pt, out.Bytes()))
			})
		}
	}
}

func TestReaderErrors(t *testing.T) {
	key := testKey(t)
	errBoom := errors.New("test: boom")
	r, err := NewReader(iotest.ErrReader(errBoom), key, 1, 0)
	require.NoError(t, err)
	_, err = r.Read(make([]byte, 10))
	require.ErrorIs(t, err, errBoom)

	r, err = NewReader(badCountReader{}, key, 1, 0)
	require.NoError(t, err)
	_, err = r.Read(make([]byte, 10))
	require.ErrorIs(t, err, errInvalidRead)

	_, err = NewReader(bytes.NewReader(nil), key, 1, -1)
	require.ErrorIs(t, err, ErrNegativeOffset)
	_, err = NewWriter(io.Discard, key, 1, -1)
	require.ErrorIs(t, err, ErrNegativeOffset)

	ct := encryptAll(t, key, 1, plaintext(100), 0)
	r, err = NewReader(bytes.NewReader(ct), key, 1, 0)
	require.NoError(t, err)
	var fw failingWriter
	fw.limit = 10
	n, err := r.WriteTo(&fw)
	require.ErrorIs(t, err, errDiskFull)
	require.Equal(t, int64(10), n)
}

type badCountReader struct{}

func (badCountReader) Read(p []byte) (int, error) { return len(p) + 1, nil }

// TestStreamAllocations pins the hot paths at zero allocations per call.
func TestStreamAllocations(t *testing.T) {
	key := testKey(t)
	p := make([]byte, 3*streamBufferSize+5)
	w, err := NewWriter(io.Discard, key, 1, 3)
	require.NoError(t, err)
	require.Zero(t, testing.AllocsPerRun(20, func() { w.Write(p) }), "Writer.Write")

	src := bytes.NewReader(p)
	require.Zero(t, testing.AllocsPerRun(20, func() {
		src.Reset(p)
		w.ReadFrom(src)
	}), "Writer.ReadFrom")

	r, err := NewReader(src, key, 1, 3)
	require.NoError(t, err)
	buf := make([]byte, 4096)
	require.Zero(t, testing.AllocsPerRun(20, func() {
		src.Reset(p)
		r.Read(buf)
	}), "Reader.Read")

	r.WriteTo(io.Discard) // allocates its buffer once
	require.Zero(t, testing.AllocsPerRun(20, func() {
		src.Reset(p)
		r.WriteTo(io.Discard)
	}), "Reader.WriteTo")
}

// truncatedReader hands out at most 7 bytes per Read and then, before the
// data is exhausted, fails with io.ErrUnexpectedEOF, as a dropped ranged
// download does.
type truncatedReader struct {
	data []byte
	stop int
}

func (r *truncatedReader) Read(p []byte) (int, error) {
	if r.stop == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p[:min(len(p), 7, r.stop)], r.data)
	r.data, r.stop = r.data[n:], r.stop-n
	return n, nil
}

// TestReaderShortReadsThenUnexpectedEOF: every byte delivered before the
// failure is correct plaintext, the count says where the stream stopped, and
// the error is the source's.
func TestReaderShortReadsThenUnexpectedEOF(t *testing.T) {
	key := testKey(t)
	const iv, offset = contentkey.IV(397304628502661816), 1000
	pt := plaintext(5000)
	ct := encryptAll(t, key, iv, pt, offset)
	for _, stop := range []int{0, 1, 15, 16, 17, 4095} {
		r, err := NewReader(&truncatedReader{data: ct, stop: stop}, key, iv, offset)
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF, "stop %d", stop)
		require.Equal(t, pt[:stop], got, "stop %d", stop)

		r, err = NewReader(&truncatedReader{data: ct, stop: stop}, key, iv, offset)
		require.NoError(t, err)
		var sink bytes.Buffer
		n, err := r.WriteTo(&sink)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.Equal(t, int64(stop), n)
		require.True(t, bytes.Equal(pt[:stop], sink.Bytes()), "stop %d", stop)
	}
}
