package livearchive

import (
	"context"
	"fmt"
	"sync"
)

// Layouts keeps the layouts of an asset's stitched tracks between reads
// at random offsets (a server answering ranges of them): each is computed
// once however many ask at once, and at most Max are kept, the least
// recently used dropped first. A layout holds its track's rewritten moofs,
// about 16 bytes a sample (some 1.5 KiB for 2 s of 30 fps video). The zero
// value keeps one. It is safe for concurrent use.
type Layouts struct {
	Max int

	mu     sync.Mutex
	used   []*cachedLayout // with a layout, most recently used last
	tracks map[*StitchedTrack]*cachedLayout
}

type cachedLayout struct {
	build  sync.Mutex // one computation at a time
	layout *Layout    // guarded by Layouts.mu; nil until built or once dropped
}

// Layout returns t's layout, computing it (Stitcher.Layout) if it is not
// kept. The computation is not cancelled with ctx: the next caller would
// only start it again. Readers of a dropped layout keep it until they end.
func (c *Layouts) Layout(ctx context.Context, t *StitchedTrack) (*Layout, error) {
	e := c.lookup(t)
	if l := c.get(e); l != nil {
		return l, nil
	}
	e.build.Lock()
	defer e.build.Unlock()
	if l := c.get(e); l != nil {
		return l, nil
	}
	l, err := t.Stitcher.Layout(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("stitching %s: %w", t.Prefix, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e.layout = l
	c.used = append(c.used, e)
	if len(c.used) > max(c.Max, 1) {
		c.used[0].layout = nil
		c.used = c.used[1:]
	}
	return l, nil
}

// lookup returns t's entry, made on first use.
func (c *Layouts) lookup(t *StitchedTrack) *cachedLayout {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tracks == nil {
		c.tracks = map[*StitchedTrack]*cachedLayout{}
	}
	e := c.tracks[t]
	if e == nil {
		e = &cachedLayout{}
		c.tracks[t] = e
	}
	return e
}

// get returns e's layout, marking it most recently used, or nil.
func (c *Layouts) get(e *cachedLayout) *Layout {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.layout == nil {
		return nil
	}
	for i, u := range c.used {
		if u == e {
			c.used = append(append(c.used[:i:i], c.used[i+1:]...), e)
			break
		}
	}
	return e.layout
}
