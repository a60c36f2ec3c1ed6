package notify

import (
	"io"
	"mime/quotedprintable"
	"strings"
)

// writeQP writes body quoted-printable with CRLF line ends, as SMTP wants.
func writeQP(w io.Writer, body string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))); err != nil {
		return err
	}
	return qp.Close()
}
