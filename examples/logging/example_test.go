package logging_test

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/rs/zerolog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/logbuf/logbuf/logio"
)

// zerolog over an Async writer: the one-line replacement for
//
//	diode.NewWriter(os.Stdout, 1000, 10*time.Millisecond, alert)
//
// with drops counted exactly and told to OnDrop, and no allocation per
// event.
func Example_zerolog() {
	var dropped atomic.Uint64
	w, err := logio.NewAsync(os.Stdout, logio.AsyncOptions{
		Options: logio.Options{OnDrop: func(n uint64) { dropped.Add(n) }},
	})
	if err != nil {
		panic(err)
	}
	logger := zerolog.New(w)
	logger.Info().Str("method", "GET").Str("path", "/items").Int("status", 200).Msg("request")
	logger.Error().Str("path", "/orders").Msg("timeout")
	if err := w.Close(); err != nil {
		panic(err)
	}
	fmt.Println("dropped:", dropped.Load())
	// Output:
	// {"level":"info","method":"GET","path":"/items","status":200,"message":"request"}
	// {"level":"error","path":"/orders","message":"timeout"}
	// dropped: 0
}

// zap over an Async writer, which is a zapcore.WriteSyncer (AddSync returns
// it as it is): the one-line replacement for zapcore.BufferedWriteSyncer.
// logger.Sync waits until the destination has every line, then syncs it.
func Example_zap() {
	w, err := logio.NewAsync(os.Stdout, logio.AsyncOptions{})
	if err != nil {
		panic(err)
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "" // no time: the output must not change from run to run
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(w), zap.InfoLevel)
	logger := zap.New(core)
	logger.Info("request", zap.String("path", "/items"), zap.Int("status", 200))
	logger.Debug("not logged: below the level")
	// EINVAL: stdout is a pipe or a terminal here, which fsync refuses.
	if err := logger.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		panic(err)
	}
	w.Close()
	// Output:
	// {"level":"info","msg":"request","path":"/items","status":200}
}
