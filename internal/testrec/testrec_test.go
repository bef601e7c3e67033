package testrec

import (
	"strings"
	"testing"
)

func TestRoundTripAndDamage(t *testing.T) {
	p := NewProducer(7, 0, 1024)
	c := NewChecker()
	c.Gens[7] = NewGen(8, 1024) // seed 0 means id+1
	var third []byte
	for i := range 5 {
		b := p.Next()
		if len(b) < 16 || len(b) > 1024 {
			t.Fatalf("record %d is %d bytes", i, len(b))
		}
		if err := c.Check(b); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			third = append([]byte(nil), b...)
		}
	}
	if err := c.Check(third); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("a repeated record: %v", err)
	}
	bad := append([]byte(nil), third...)
	bad[len(bad)-1] ^= 1
	if _, _, err := Verify(bad); err == nil {
		t.Fatal("a flipped fill byte passed")
	}
	p.Next() // seq 5, never checked
	if err := c.Check(p.Next()); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("a skipped record: %v", err)
	}
}
