// decode: reads ip-masq-agent config files the way the upstream Go agent does, as a test oracle
// for this agent's reader. The upstream agent starts from its defaults, turns YAML into JSON
// (go-yaml v2 through sigs.k8s.io/yaml; a file whose first non-space character is '{' is taken
// as JSON as it is), decodes that with encoding/json into its config struct, and then checks the
// CIDRs and the limit. For each file given, one line: the effective configuration as JSON, or
// "error: " and the reason.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"
	"unicode"

	"sigs.k8s.io/yaml"
)

// duration decodes as metav1.Duration does: a JSON string in time.ParseDuration syntax (null
// leaves the string empty, which does not parse).
type duration struct{ d time.Duration }

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.d = v
	return nil
}

type config struct {
	NonMasqueradeCIDRs []string `json:"nonMasqueradeCIDRs"`
	CidrLimit          int      `json:"cidrLimit"`
	MasqLinkLocal      bool     `json:"masqLinkLocal"`
	MasqLinkLocalIPv6  bool     `json:"masqLinkLocalIPv6"`
	ResyncInterval     duration `json:"resyncInterval"`
}

type result struct {
	NonMasqueradeCIDRs []string `json:"nonMasqueradeCIDRs"`
	CidrLimit          int      `json:"cidrLimit"`
	MasqLinkLocal      bool     `json:"masqLinkLocal"`
	MasqLinkLocalIPv6  bool     `json:"masqLinkLocalIPv6"`
	ResyncInterval     string   `json:"resyncInterval"`
}

func decode(data []byte) (*result, error) {
	c := config{
		NonMasqueradeCIDRs: []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"},
		CidrLimit:          64,
		ResyncInterval:     duration{60 * time.Second},
	}
	js := data
	if !bytes.HasPrefix(bytes.TrimLeftFunc(data, unicode.IsSpace), []byte("{")) {
		var err error
		if js, err = yaml.YAMLToJSON(data); err != nil {
			return nil, err
		}
	}
	if err := json.Unmarshal(js, &c); err != nil {
		return nil, err
	}
	if len(c.NonMasqueradeCIDRs) > c.CidrLimit {
		return nil, fmt.Errorf("%d CIDRs, limit %d", len(c.NonMasqueradeCIDRs), c.CidrLimit)
	}
	for _, s := range c.NonMasqueradeCIDRs {
		if _, _, err := net.ParseCIDR(s); err != nil {
			return nil, err
		}
	}
	if c.NonMasqueradeCIDRs == nil {
		c.NonMasqueradeCIDRs = []string{}
	}
	return &result{c.NonMasqueradeCIDRs, c.CidrLimit, c.MasqLinkLocal, c.MasqLinkLocalIPv6,
		c.ResyncInterval.d.String()}, nil
}

func main() {
	for _, path := range os.Args[1:] {
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		r, err := decode(data)
		if err != nil {
			fmt.Printf("error: %s\n", bytes.ReplaceAll([]byte(err.Error()), []byte("\n"), []byte(" ")))
			continue
		}
		out, _ := json.Marshal(r)
		fmt.Printf("%s\n", out)
	}
}
