package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/checksum"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/cli"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyfile"
	"github.com/amscrypt/amscrypt/protection"
)

type result struct {
	code           int
	stdout, stderr string
}

// amscrypt runs a command in-process, as main would, with the given environment.
func amscrypt(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &cli.Env{Program: "amscrypt", Ctx: context.Background(), Stdin: strings.NewReader(vars["<stdin>"]), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return vars[k] }}
	code := run(e, args)
	return result{code, out.String(), errb.String()}
}

// ok asserts success and returns stdout.
func (r result) ok(t *testing.T) string {
	t.Helper()
	require.Equal(t, 0, r.code, "Stderr: %s", r.stderr)
	return r.stdout
}

// refused asserts a failure: non-zero exit, nothing on stdout, one line on
// stderr that contains every want.
func (r result) refused(t *testing.T, want ...string) {
	t.Helper()
	require.NotEqual(t, 0, r.code, "accepted; Stdout: %s", r.stdout)
	require.Empty(t, r.stdout, "a refusal printed to stdout")
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "stderr is not one line: %q", r.stderr)
	for _, w := range want {
		require.Contains(t, r.stderr, w)
	}
}

func td(name string) string { return filepath.Join(testvectors.Dir, name) }

func writeKeyFile(t *testing.T, dir string, typ contentkey.Type) (string, contentkey.ID, contentkey.Key) {
	t.Helper()
	k, err := contentkey.New(typ)
	require.NoError(t, err)
	id, err := contentkey.NewID()
	require.NoError(t, err)
	path := filepath.Join(dir, "key-"+id.GUID()[:8]+".json")
	require.NoError(t, keyfile.Write(path, k, id))
	return path, id, k
}

func requireNoFile(t *testing.T, path string) {
	t.Helper()
	_, err := os.Lstat(path)
	require.True(t, os.IsNotExist(err), "%s exists", path)
}

// requireOnlyFiles checks a directory holds exactly the named files: no
// temporary or partial files were left.
func requireOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	require.ElementsMatch(t, names, got)
}

func TestThumbprintVectors(t *testing.T) {
	var file struct {
		Vectors []struct {
			File, Thumbprint string
			ExpectError      bool `json:"expect_error"`
		}
	}
	testvectors.Load(t, "certs.json", &file)
	for _, v := range file.Vectors {
		r := amscrypt(t, nil, "thumbprint", "--cert", td(v.File))
		if v.ExpectError {
			r.refused(t, "not an X.509 certificate")
			continue
		}
		require.Equal(t, v.Thumbprint+"\n", r.ok(t), v.File)
	}
	amscrypt(t, nil, "thumbprint", "--cert", td("no-such-file")).refused(t, "no-such-file")
	r := amscrypt(t, nil, "thumbprint")
	r.refused(t, "--cert is required")
	require.Equal(t, cli.ExitUsage, r.code)
}

type checksumVector struct {
	Key          string   `json:"key"`
	IDSpellings  []string `json:"id_spellings"`
	Checksum     string   `json:"checksum"`
	JavaChecksum string   `json:"java_checksum"`
}

func TestChecksumVectors(t *testing.T) {
	var file struct{ Vectors []checksumVector }
	testvectors.Load(t, "checksum.json", &file)
	dir := t.TempDir()
	for i, v := range file.Vectors {
		for _, id := range v.IDSpellings {
			r := amscrypt(t, nil, "checksum", "--key", v.Key, "--key-id", id)
			require.Equal(t, v.Checksum+"\n", r.ok(t), "%s %s", v.Key, id)
			require.Contains(t, r.stderr, "warning")
		}
		r := amscrypt(t, map[string]string{"<stdin>": v.Key + "\n"}, "checksum", "--key", "-", "--key-id", v.IDSpellings[0])
		require.Equal(t, v.Checksum+"\n", r.ok(t))
		require.Empty(t, r.stderr)

		raw, _ := base64.StdEncoding.DecodeString(v.Key)
		typ := map[int]contentkey.Type{16: contentkey.CommonEncryption, 32: contentkey.StorageEncryption}[len(raw)]
		k, err := contentkey.FromBytes(typ, raw)
		require.NoError(t, err)
		id, err := contentkey.ParseID(v.IDSpellings[0])
		require.NoError(t, err)
		path := filepath.Join(dir, fmt.Sprintf("k%d", i))
		require.NoError(t, keyfile.Write(path, k, id))
		require.Equal(t, v.Checksum+"\n", amscrypt(t, nil, "checksum", "--key-file", path).ok(t))
	}
}

func TestChecksumRefusals(t *testing.T) {
	const id = "nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8"
	for _, n := range []int{0, 1, 8, 15, 17, 24, 31, 33, 48, 64} {
		key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xA5}, n))
		if n == 0 {
			amscrypt(t, nil, "checksum", "--key", key, "--key-id", id).refused(t, "--key")
			continue
		}
		r := amscrypt(t, nil, "checksum", "--key", key, "--key-id", id)
		require.Equal(t, cli.ExitError, r.code, "%d-byte key accepted", n)
		require.Empty(t, r.stdout)
		require.Contains(t, r.stderr, fmt.Sprintf("got %d", n))
	}
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	amscrypt(t, nil, "checksum", "--key", "%%%", "--key-id", id).refused(t, "base64")
	for _, bad := range []string{"nb:kid:UUID:316d14d4", "nb:cid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8", "316d14d4-b603-4d90-b8db-0fede8aa48fz"} {
		r := amscrypt(t, nil, "checksum", "--key", key, "--key-id", bad)
		require.Equal(t, cli.ExitError, r.code)
		require.Contains(t, r.stderr, "--key-id")
	}
	amscrypt(t, nil, "checksum", "--key", key).refused(t, "--key-id is required")
	amscrypt(t, nil, "checksum").refused(t, "--key-file, or --key with --key-id")
}

// TestChecksumKeyFileForms: --key-file takes keygen's key file (with or
// without a matching --key-id) or a file holding just the key, raw or in
// base64, with --key-id.
func TestChecksumKeyFileForms(t *testing.T) {
	var file struct{ Vectors []checksumVector }
	testvectors.Load(t, "checksum.json", &file)
	dir := t.TempDir()
	for i, v := range file.Vectors {
		raw, _ := base64.StdEncoding.DecodeString(v.Key)
		id := v.IDSpellings[0]
		rawFile, b64File := filepath.Join(dir, fmt.Sprintf("raw%d", i)), filepath.Join(dir, fmt.Sprintf("b64%d", i))
		require.NoError(t, os.WriteFile(rawFile, raw, 0o600))
		require.NoError(t, os.WriteFile(b64File, []byte(v.Key+"\n"), 0o600))
		for _, f := range []string{rawFile, b64File} {
			require.Equal(t, v.Checksum+"\n", amscrypt(t, nil, "checksum", "--key-file", f, "--key-id", id).ok(t))
			amscrypt(t, nil, "checksum", "--key-file", f).refused(t, "--key-id is required")
		}
	}
	keyPath, id, _ := writeKeyFile(t, dir, contentkey.StorageEncryption)
	want := amscrypt(t, nil, "checksum", "--key-file", keyPath).ok(t)
	require.Equal(t, want, amscrypt(t, nil, "checksum", "--key-file", keyPath, "--key-id", strings.ToUpper(id.GUID())).ok(t))
	other, _ := contentkey.NewID()
	amscrypt(t, nil, "checksum", "--key-file", keyPath, "--key-id", other.String()).refused(t, "is not the key file's Id")

	bad := filepath.Join(dir, "bad")
	for content, want := range map[string]string{
		string(make([]byte, 20)):                 "holds neither a key file, nor a 16- or 32-byte raw key",
		"AAAA\n":                                 "got 3",
		"not base64 at all!":                     "(18 bytes)",
		`{"Id":"x","ContentKeyType":1,"Key":""}`: "invalid key file",
	} {
		require.NoError(t, os.WriteFile(bad, []byte(content), 0o600))
		amscrypt(t, nil, "checksum", "--key-file", bad, "--key-id", id.String()).refused(t, want)
	}
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	keyOut := filepath.Join(dir, "content.key")
	body := amscrypt(t, nil, "keygen", "--cert", td("rsa2048.crt.json"), "--protection-key-id",
		"831b7d25d8bf2f80186abc1fa389be3c0cd6328c", "--name", "k1", "--key-out", keyOut).ok(t)

	st, err := os.Stat(keyOut)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	k, id, err := keyfile.Read(keyOut)
	require.NoError(t, err)
	require.Equal(t, contentkey.StorageEncryption, k.Type())

	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	require.Equal(t, id.String(), doc["Id"])
	require.EqualValues(t, 1, doc["ContentKeyType"])
	require.EqualValues(t, 0, doc["ProtectionKeyType"])
	require.Equal(t, "831B7D25D8BF2F80186ABC1FA389BE3C0CD6328C", doc["ProtectionKeyId"])
	require.Equal(t, "k1", doc["Name"])
	require.NoError(t, checksum.Verify(k, id, doc["Checksum"].(string)))
	require.NotContains(t, body, base64.StdEncoding.EncodeToString(k.Bytes()))

	// The private key recovers exactly the key in the key file.
	priv, err := protection.ParsePrivateKeyPEM(testvectors.Read(t, "rsa2048.pkcs1.key.pem"))
	require.NoError(t, err)
	got, err := protection.Unwrap(priv, contentkey.StorageEncryption, doc["EncryptedContentKey"].(string))
	require.NoError(t, err)
	require.True(t, k.Equal(got))

	// A second keygen to the same key file changes nothing.
	before, _ := os.ReadFile(keyOut)
	amscrypt(t, nil, "keygen", "--cert", td("rsa2048.crt.pem"), "--key-out", keyOut).refused(t, "already exists")
	after, _ := os.ReadFile(keyOut)
	require.Equal(t, before, after)

	common := filepath.Join(dir, "common.key")
	amscrypt(t, nil, "keygen", "--cert", td("rsa3072.crt.pem"), "--type", "CommonEncryption", "--key-out", common).ok(t)
	ck, _, err := keyfile.Read(common)
	require.NoError(t, err)
	require.Equal(t, 16, ck.Len())
}

func TestKeygenRefusals(t *testing.T) {
	dir := t.TempDir()
	keyOut := filepath.Join(dir, "k.json")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"thumbprint mismatch", []string{"--cert", td("ams-protection-cert.b64"), "--protection-key-id", "831B7D25D8BF2F80186ABC1FA389BE3C0CD6328C"}, "does not match"},
		{"thumbprint not hex", []string{"--cert", td("ams-protection-cert.b64"), "--protection-key-id", "\u200e7D9BB04D9D0A4A24800CADBFEF232689E048F69C"}, "U+200E"},
		{"thumbprint short", []string{"--cert", td("ams-protection-cert.b64"), "--protection-key-id", "7D9BB04D"}, "40 hex digits"},
		{"1024-bit", []string{"--cert", td("rsa1024.crt.pem")}, "2048"},
		{"EC", []string{"--cert", td("ec-p256.crt.pem")}, "not RSA"},
		{"garbage", []string{"--cert", td("invalid-garbage.bin")}, "not an X.509"},
		{"empty", []string{"--cert", td("invalid-empty.crt")}, "empty"},
		{"truncated", []string{"--cert", td("invalid-truncated.der")}, "malformed DER"},
		{"private key as cert", []string{"--cert", td("rsa2048.pkcs8.key.pem")}, "no CERTIFICATE"},
		{"missing cert", []string{"--cert", filepath.Join(dir, "none")}, "none"},
		{"unsupported type", []string{"--cert", td("rsa2048.crt.pem"), "--type", "FairPlayPfxPassword"}, "no fixed key size"},
		{"unknown type", []string{"--cert", td("rsa2048.crt.pem"), "--type", "5"}, "unknown ContentKeyType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			amscrypt(t, nil, append([]string{"keygen", "--key-out", keyOut}, tt.args...)...).refused(t, tt.want)
			requireOnlyFiles(t, dir)
		})
	}
	// Expired is not a refusal: the service kept its certificate past expiry.
	amscrypt(t, nil, "keygen", "--cert", td("expired-rsa2048.crt.pem"), "--key-out", keyOut).ok(t)
}

type entityVector struct {
	Name           string          `json:"name"`
	Entity         json.RawMessage `json:"entity"`
	PrivateKeyFile string          `json:"private_key_file"`
	Valid          bool            `json:"valid"`
	ExpectError    string          `json:"expect_error"`
	Field          string          `json:"field"`
	Key            string          `json:"key"`
}

// TestUnwrapEntityVectors runs contentkey_entities.json (built by Python)
// through the unwrap command.
func TestUnwrapEntityVectors(t *testing.T) {
	var file struct{ Vectors []entityVector }
	testvectors.Load(t, "contentkey_entities.json", &file)
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			dir := t.TempDir()
			entity := filepath.Join(dir, "entity.json")
			require.NoError(t, os.WriteFile(entity, v.Entity, 0o644))
			keyOut := filepath.Join(dir, "out.key")
			r := amscrypt(t, nil, "unwrap", "--private-key", td(v.PrivateKeyFile), "--content-key", entity, "--key-out", keyOut)
			if !v.Valid {
				want := map[string]string{"java": "Java", "php": "PHP"}[v.ExpectError]
				r.refused(t, want)
				requireOnlyFiles(t, dir, "entity.json")
				return
			}
			var out map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.ok(t)), &out))
			k, _, err := keyfile.Read(keyOut)
			require.NoError(t, err)
			require.Equal(t, v.Key, base64.StdEncoding.EncodeToString(k.Bytes()))
			require.NotContains(t, r.stdout+r.stderr, v.Key)
			require.Equal(t, keyOut, out["KeyFile"])
		})
	}
}

func TestUnwrapPFX(t *testing.T) {
	var file struct {
		Vectors []struct {
			File, Password string
			WrongPassword  string `json:"wrong_password"`
		}
	}
	testvectors.Load(t, "pfx.json", &file)
	dir := t.TempDir()
	keyPath, id, k := writeKeyFile(t, dir, contentkey.StorageEncryption)
	entity := filepath.Join(dir, "entity.json")
	require.NoError(t, os.WriteFile(entity, []byte(amscrypt(t, nil, "rewrap", "--key-file", keyPath, "--cert", td("rsa2048.crt.pem")).ok(t)), 0o644))
	for i, v := range file.Vectors {
		keyOut := filepath.Join(dir, fmt.Sprintf("out%d.key", i))
		vars := map[string]string{cli.PFXPasswordEnv: v.WrongPassword}
		amscrypt(t, vars, "unwrap", "--pfx", td(v.File), "--content-key", entity, "--key-out", keyOut).refused(t, "wrong PFX password", cli.PFXPasswordEnv)
		requireNoFile(t, keyOut)

		vars[cli.PFXPasswordEnv] = v.Password
		amscrypt(t, vars, "unwrap", "--pfx", td(v.File), "--content-key", entity, "--key-out", keyOut).ok(t)
		got, gotID, err := keyfile.Read(keyOut)
		require.NoError(t, err)
		require.Equal(t, id, gotID)
		require.True(t, k.Equal(got), v.File)
	}
}

func TestRewrapRotation(t *testing.T) {
	dir := t.TempDir()
	keyPath, id, k := writeKeyFile(t, dir, contentkey.StorageEncryption)
	old := filepath.Join(dir, "old.json")
	require.NoError(t, os.WriteFile(old, []byte(amscrypt(t, nil, "rewrap", "--key-file", keyPath, "--cert", td("rsa2048.crt.der")).ok(t)), 0o644))
	body := amscrypt(t, nil, "rewrap", "--private-key", td("rsa2048.pkcs8.key.pem"), "--content-key", old,
		"--cert", td("rsa3072.crt.pem"), "--protection-key-id", protectionKeyID(t, "rsa3072.crt.pem")).ok(t)
	ck, err := envelope.ParseContentKey([]byte(body))
	require.NoError(t, err)
	require.Equal(t, id, ck.ID)
	priv, err := protection.ParsePrivateKeyPEM(testvectors.Read(t, "rsa3072.pkcs8.key.pem"))
	require.NoError(t, err)
	got, gotID, err := ck.Open(priv)
	require.NoError(t, err)
	require.Equal(t, id, gotID)
	require.True(t, k.Equal(got))
	// Unwrapping with the wrong private key fails vaguely.
	amscrypt(t, nil, "rewrap", "--private-key", td("rsa3072.pkcs8.key.pem"), "--content-key", old, "--cert", td("rsa2048.crt.pem")).refused(t, "cannot unwrap")
}

func protectionKeyID(t *testing.T, cert string) string {
	return strings.TrimSpace(amscrypt(t, nil, "thumbprint", "--cert", td(cert)).ok(t))
}

func TestHelpAndUsage(t *testing.T) {
	for _, c := range commands {
		name := c.Name
		r := amscrypt(t, nil, name, "--help")
		require.Equal(t, 0, r.code, name)
		require.Contains(t, r.stdout, "usage: amscrypt "+name)
		require.Empty(t, r.stderr, name)
		require.NotContains(t, r.stdout, "panic", name)
		require.Equal(t, r, amscrypt(t, nil, "help", name), "help %s differs from %s --help", name, name)
		r = amscrypt(t, nil, name, "--no-such-flag")
		require.Equal(t, cli.ExitUsage, r.code, name)
		require.Empty(t, r.stdout)
		r = amscrypt(t, nil, name, "stray-argument")
		require.NotEqual(t, 0, r.code, name)
	}
	require.Equal(t, cli.ExitUsage, amscrypt(t, nil).code)
	require.Equal(t, cli.ExitUsage, amscrypt(t, nil, "frobnicate").code)
	require.Equal(t, 0, amscrypt(t, nil, "--help").code)
}

// TestNoSecretFlags: no command takes a password or a private key's value as
// a flag, and the one key-valued flag is checksum's --key.
func TestNoSecretFlags(t *testing.T) {
	for _, c := range commands {
		name := c.Name
		r := amscrypt(t, nil, name, "--help")
		for _, line := range strings.Split(r.stdout, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "-") {
				continue
			}
			flagName := strings.Fields(line)[0]
			require.NotContains(t, flagName, "pass", "%s %s", name, flagName)
			require.NotContains(t, flagName, "secret", "%s %s", name, flagName)
			if flagName == "-key" {
				require.Equal(t, "checksum", name)
			}
		}
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

// TestKeygenStdoutFailure: when the entity cannot be printed, the key file
// it belongs to is removed again.
func TestKeygenStdoutFailure(t *testing.T) {
	dir := t.TempDir()
	var errb bytes.Buffer
	e := &cli.Env{Program: "amscrypt", Ctx: context.Background(), Stdin: strings.NewReader(""), Stdout: failingWriter{}, Stderr: &errb,
		Getenv: func(string) string { return "" }}
	code := run(e, []string{"keygen", "--cert", td("rsa2048.crt.pem"), "--key-out", filepath.Join(dir, "k.json")})
	require.Equal(t, cli.ExitError, code)
	require.Contains(t, errb.String(), "printing the ContentKey entity")
	requireOnlyFiles(t, dir)
}
