package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds one manifest file. Real manifests are far smaller; the
// bound keeps a stray binary or log from exhausting memory.
const MaxFileSize = 64 << 20

// MaxTotalSize bounds all manifests of one run together (every -f and
// standard input): 64 MiB files given eight times would otherwise all be
// held at once.
const MaxTotalSize = 128 << 20

// maxTotalSize is MaxTotalSize; tests lower it.
var maxTotalSize = MaxTotalSize

// manifestExt are the file endings read from a directory, as kubectl apply -f.
var manifestExt = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// ReadPaths reads every manifest under the given files and directories
// (directories recursively, like kubectl apply -R) and returns the objects in
// file order. "-" reads standard input.
//
// A file reached twice (named twice, through a symlink, or inside two given
// directories) is read once.
func ReadPaths(paths []string, stdin io.Reader) ([]*Object, error) {
	var objs []*Object
	total := 0
	addTotal := func(n int) error {
		if total += n; total > maxTotalSize {
			return fmt.Errorf("reading manifests: the inputs hold more than %s together (the bound on all -f inputs of one run)", sizeText(maxTotalSize))
		}
		return nil
	}
	seen := map[string]bool{}
	for _, p := range paths {
		if p == "-" {
			b, err := readLimited(stdin, "standard input", 0)
			if err != nil {
				return nil, err
			}
			if err := addTotal(len(b)); err != nil {
				return nil, err
			}
			o, err := ParseManifests("-", b)
			if err != nil {
				return nil, err
			}
			objs = append(objs, o...)
			continue
		}
		files, err := manifestFiles(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if real, err := filepath.EvalSymlinks(f); err == nil {
				if abs, err := filepath.Abs(real); err == nil {
					real = abs
				}
				if seen[real] {
					continue
				}
				seen[real] = true
			}
			b, err := readFile(f)
			if err != nil {
				return nil, err
			}
			if err := addTotal(len(b)); err != nil {
				return nil, err
			}
			o, err := ParseManifests(f, b)
			if err != nil {
				return nil, err
			}
			objs = append(objs, o...)
		}
	}
	return objs, nil
}

func manifestFiles(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && manifestExt[strings.ToLower(filepath.Ext(path))] {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

// ReadFile parses one manifest file.
func ReadFile(path string) ([]*Object, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return ParseManifests(path, b)
}

// readFile reads one manifest file, refusing more than MaxFileSize.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	defer f.Close()
	var sizeHint int64
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		sizeHint = st.Size()
	}
	return readLimited(f, path, sizeHint)
}

// readLimited reads r whole, refusing more than MaxFileSize. sizeHint (the
// file's size, or 0) sizes the buffer so that reading allocates once.
func readLimited(r io.Reader, name string, sizeHint int64) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, min(sizeHint, MaxFileSize)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(r, MaxFileSize+1)); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if buf.Len() > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB; not a manifest", name, MaxFileSize>>20)
	}
	return buf.Bytes(), nil
}

// ParseManifests parses multi-document YAML or JSON. `kind: List` (and any
// *List with items) is flattened into its items. Empty documents are skipped.
// Errors name the file and line.
//
// Documents are parsed on every CPU: the file is cut at its "---" lines,
// which end any YAML content (YAML 1.2 forbids a document marker at the start
// of a line inside a scalar or collection), so each piece parses on its own
// and its lines are shifted back into place. When any piece fails (a parse
// error, or a directive that belongs to the next piece), the whole file is
// parsed again in one pass, so errors and results are exactly the one-pass
// parser's.
func ParseManifests(file string, data []byte) ([]*Object, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("%s: binary data, not a YAML or JSON manifest", file)
	}
	// A carriage return not followed by a newline is a line break to YAML
	// but not to splitDocuments: such (old Mac) files are parsed in one pass.
	pieces := splitDocuments(data)
	if len(pieces) < 2 || bytes.Count(data, []byte("\r")) != bytes.Count(data, []byte("\r\n")) {
		return parseStream(file, data, 0)
	}
	objs := make([][]*Object, len(pieces))
	errs := make([]error, len(pieces))
	parallel(len(pieces), func(i int) {
		objs[i], errs[i] = parseStream(file, pieces[i].data, pieces[i].line-1)
	})
	var out []*Object
	for i := range pieces {
		if errs[i] != nil {
			return parseStream(file, data, 0)
		}
		out = append(out, objs[i]...)
	}
	return out, nil
}

// documentPiece is a part of a file that starts at a "---" line (or at the
// file's start), and the 1-based line it starts on.
type documentPiece struct {
	data []byte
	line int
}

// splitDocuments cuts data before every line that is a YAML document start
// marker: "---" followed by a blank or the end of the line.
func splitDocuments(data []byte) []documentPiece {
	var pieces []documentPiece
	start, startLine, line := 0, 1, 1
	for off := 0; off < len(data); {
		if off > start && isDocumentStart(data[off:]) {
			pieces = append(pieces, documentPiece{data[start:off], startLine})
			start, startLine = off, line
		}
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 {
			break
		}
		off += nl + 1
		line++
	}
	return append(pieces, documentPiece{data[start:], startLine})
}

func isDocumentStart(b []byte) bool {
	if !bytes.HasPrefix(b, []byte("---")) {
		return false
	}
	return len(b) == 3 || b[3] == ' ' || b[3] == '\t' || b[3] == '\n' || b[3] == '\r'
}

// parseStream parses every document in data; lineOffset is added to every
// line, as data starts that far into the file.
func parseStream(file string, data []byte, lineOffset int) ([]*Object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	bounds := newBoundsChecker(file, len(data))
	var objs []*Object
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		got, err := objectsFromDocument(file, &doc, lineOffset, bounds)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
	return objs, nil
}

// objectsFromDocument returns the objects of one parsed document (none for
// an empty one); lineOffset is added to every line.
func objectsFromDocument(file string, doc *yaml.Node, lineOffset int, bounds *boundsChecker) ([]*Object, error) {
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && (root.Tag == "!!null" || root.Value == "") {
		return nil, nil
	}
	if lineOffset != 0 {
		shiftLines(root, lineOffset)
	}
	if err := bounds.check(root); err != nil {
		return nil, err
	}
	return objectsFromNode(file, root)
}

// shiftLines adds offset to the line of n and every node under it. Aliases
// are not followed: the nodes they point to are visited where they stand.
func shiftLines(n *yaml.Node, offset int) {
	n.Line += offset
	for _, c := range n.Content {
		shiftLines(c, offset)
	}
}

func objectsFromNode(file string, n *yaml.Node) ([]*Object, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: expected a Kubernetes object (a mapping with apiVersion and kind)", file, n.Line)
	}
	var data map[string]any
	if err := n.Decode(&data); err != nil {
		if k := complexKey(n, 0); k != nil {
			return nil, fmt.Errorf("%s:%d: a mapping key is itself a %s; Kubernetes objects take only string keys", file, k.Line, map[bool]string{true: "mapping", false: "list"}[k.Kind == yaml.MappingNode])
		}
		return nil, fmt.Errorf("%s:%d: %s", file, n.Line, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	data, err := jsonCompatible(data)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %w", file, n.Line, err)
	}
	kind, _ := data["kind"].(string)
	if items, isList := data["items"].([]any); isList && strings.HasSuffix(kind, "List") {
		itemsNode := mappingValue(n, "items")
		var out []*Object
		for i := range items {
			if itemsNode == nil || itemsNode.Kind != yaml.SequenceNode || i >= len(itemsNode.Content) {
				break
			}
			got, err := objectsFromNode(file, itemsNode.Content[i])
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
		return out, nil
	}
	o := &Object{Data: data, File: file, Line: n.Line, pos: newPosition(n)}
	if err := o.fillMeta(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", file, n.Line, err)
	}
	if !keepsData(o) {
		// Hold the compact JSON instead of the map until the typed decode.
		raw, err := json.Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, n.Line, err)
		}
		o.raw, o.Data = raw, nil
	}
	if o.APIVersion == "" {
		return nil, fmt.Errorf("%s:%d: %s %q has no apiVersion", file, n.Line, o.Kind, o.Name)
	}
	if o.Name == "" {
		return nil, fmt.Errorf("%s:%d: %s has no metadata.name", file, n.Line, o.Kind)
	}
	return []*Object{o}, nil
}

// jsonCompatible rewrites YAML-only shapes (maps with non-string keys) into
// what JSON can carry, or says where they are.
func jsonCompatible(v map[string]any) (map[string]any, error) {
	out, err := normalize(v, "")
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

func normalize(v any, path string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			nv, err := normalize(val, path+"."+k)
			if err != nil {
				return nil, err
			}
			x[k] = nv
		}
		return x, nil
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			ks, ok := k.(string)
			if !ok {
				ks = fmt.Sprint(k)
			}
			nv, err := normalize(val, path+"."+ks)
			if err != nil {
				return nil, err
			}
			m[ks] = nv
		}
		return m, nil
	case []any:
		for i, val := range x {
			nv, err := normalize(val, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			x[i] = nv
		}
		return x, nil
	}
	return v, nil
}

// mappingValue returns the value of key in a mapping node, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func sizeText(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
