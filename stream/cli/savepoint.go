package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/stromhq/strom/snapshot"
)

const savepointUsage = `usage:
  strom savepoint create --checkpoint-dir DIR --name NAME [--checkpoint ID]
        copy the latest (or the given) complete checkpoint of DIR into the
        savepoint NAME (DIR/savepoints/NAME), kept until deleted
  strom savepoint list --checkpoint-dir DIR
  strom savepoint delete --checkpoint-dir DIR --name NAME
  strom savepoint inspect PATH
        print what a savepoint or checkpoint holds

A running job takes a savepoint as it stops with
  strom run JOB --checkpoint-dir DIR --savepoint-on-stop NAME ...
and any job starts from one with --restore PATH.
`

// runSavepoint implements `strom savepoint`.
func runSavepoint(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, savepointUsage)
		return UsageError{Err: errors.New("savepoint: name a subcommand")}
	}
	if args[0] == "inspect" {
		if len(args) != 2 {
			return UsageError{Err: errors.New("savepoint inspect: give one PATH")}
		}
		in, err := snapshot.Inspect(nil, args[1])
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, in.String())
		if len(in.Problems) > 0 {
			return fmt.Errorf("savepoint inspect %s: %d problems found", args[1], len(in.Problems))
		}
		return nil
	}
	fs := flag.NewFlagSet(prog+" savepoint "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("checkpoint-dir", "", "checkpoint directory of the job (required)")
	name := fs.String("name", "", "savepoint name")
	id := fs.Int64("checkpoint", 0, "checkpoint to copy (default: the latest complete one)")
	switch args[0] {
	case "create", "list", "delete":
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, savepointUsage)
		return nil
	default:
		fmt.Fprint(stderr, savepointUsage)
		return UsageError{Err: fmt.Errorf("savepoint: unknown subcommand %q", args[0])}
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return UsageError{Err: err}
	}
	if *dir == "" {
		return UsageError{Err: fmt.Errorf("savepoint %s: --checkpoint-dir is required", args[0])}
	}
	if args[0] != "list" && *name == "" {
		return UsageError{Err: fmt.Errorf("savepoint %s: --name is required", args[0])}
	}
	st, err := snapshot.Open(*dir, nil)
	if err != nil {
		return err
	}
	switch args[0] {
	case "create":
		from := *id
		if from == 0 {
			latest, _, err := st.Latest()
			if err != nil {
				return fmt.Errorf("savepoint create: %w", err)
			}
			from = latest.CheckpointID
		}
		m, err := st.Savepoint(*name, from)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "savepoint %s of checkpoint %d: %s\n", *name, m.CheckpointID, st.SavepointDir(*name))
	case "list":
		sps, err := st.ListSavepoints()
		if err != nil {
			return err
		}
		for _, sp := range sps {
			if sp.Err != nil {
				fmt.Fprintf(stdout, "%s\t%s\tunusable: %v\n", sp.Name, sp.Dir, sp.Err)
				continue
			}
			fmt.Fprintf(stdout, "%s\t%s\tcheckpoint %d of job %s\n", sp.Name, sp.Dir, sp.Manifest.CheckpointID, sp.Manifest.JobName)
		}
	case "delete":
		return st.DeleteSavepoint(*name)
	}
	return nil
}
