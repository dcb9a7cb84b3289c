package finding

// Manifest-level codes of the FD1 area (the input itself).
var (
	ManifestDuplicateObject = register(Code{
		ID: "FD1022", Severity: Warning,
		Title:   "The same object is given more than once",
		Explain: "Two documents of the input have the same API group, kind, namespace and name (in two files or twice in one). They are one object to Kubernetes: kubectl apply -f applies them in order and the later one replaces the earlier, so only the last is what runs. filterdoctor judges that one alone; the earlier copy is dead text that readers (and reviewers) mistake for configuration in force, and the two usually differ because one was meant to be renamed.",
		Fix:     "Delete the earlier copy, or give it its own name if both were meant to exist.",
	})
)
