package livearchive_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/livearchive"
)

// TestLayouts: a track's layout is computed once however many ask at once,
// is the Stitcher's, and at most Max are kept, the least recently used
// dropped first.
func TestLayouts(t *testing.T) {
	ctx := context.Background()
	var tracks []*livearchive.StitchedTrack
	for _, tr := range fixtureAsset(t, "asset").asset().Tracks(ctx) {
		if tr.Err == nil {
			tracks = append(tracks, tr)
		}
	}
	require.GreaterOrEqual(t, len(tracks), 3)
	c := &livearchive.Layouts{Max: 2}
	var wg sync.WaitGroup
	got := make([]*livearchive.Layout, 8)
	for i := range got {
		wg.Go(func() {
			l, err := c.Layout(ctx, tracks[0])
			require.NoError(t, err)
			got[i] = l
		})
	}
	wg.Wait()
	for _, l := range got {
		require.Same(t, got[0], l, "computed more than once")
	}
	want, err := tracks[0].Stitcher.Layout(ctx)
	require.NoError(t, err)
	require.Equal(t, want.Size(), got[0].Size())

	l1, err := c.Layout(ctx, tracks[1])
	require.NoError(t, err)
	again, err := c.Layout(ctx, tracks[0]) // now the most recently used
	require.NoError(t, err)
	require.Same(t, got[0], again)
	_, err = c.Layout(ctx, tracks[2]) // drops tracks[1]'s
	require.NoError(t, err)
	again, err = c.Layout(ctx, tracks[0])
	require.NoError(t, err)
	require.Same(t, got[0], again, "the most recently used was dropped")
	l1again, err := c.Layout(ctx, tracks[1])
	require.NoError(t, err)
	require.NotSame(t, l1, l1again, "the least recently used was kept")
}
