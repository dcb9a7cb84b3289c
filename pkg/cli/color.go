package cli

// colorAllowed says whether the environment lets a terminal be coloured:
// not when NO_COLOR is set to a non-empty value (no-color.org: "when present
// and not an empty string"), nor on a dumb terminal (TERM=dumb), which
// cannot show escape sequences.
func colorAllowed(getenv func(string) string) bool {
	return getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}
