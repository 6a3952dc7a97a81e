package kernel

// Must returns v, or panics with err when it is not nil. Notebook cells have
// no caller to return an error to, and GoNB shows a panic's message.
func Must[T any](v T, err error) T {
	Check(err)
	return v
}

// Must2 is Must for functions that return two values and an error, such as
// bench.Run.
func Must2[A, B any](a A, b B, err error) (A, B) {
	Check(err)
	return a, b
}

// Check panics with err when it is not nil; see Must.
func Check(err error) {
	if err != nil {
		panic(err)
	}
}
