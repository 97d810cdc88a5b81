package deploy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEvaluate: short and long forms of the template functions, conditions
// that leave resources out, NoValue, Fn::Sub with attributes.
func TestEvaluate(t *testing.T) {
	t.Parallel()
	src := `
Parameters:
  Platform: {Type: String, Default: fc}
  Reserved: {Type: String, Default: ''}
Conditions:
  OnFC: !Equals [fc, !Ref Platform]
  HasReserved: !Not [!Equals [!Ref Reserved, '']]
Resources:
  Queue:
    Type: ALIYUN::MNS::Queue
    Condition: OnFC
    Properties: {QueueName: dlq}
  Role:
    Type: ALIYUN::RAM::Role
    Properties:
      RoleName: r
      Reserved: !If [HasReserved, !Ref Reserved, !Ref ALIYUN::NoValue]
      Target:
        Fn::Sub: acs:mns:${ALIYUN::Region}:${ALIYUN::TenantId}:/queues/${Queue.QueueName}/messages
Outputs:
  RoleArn:
    Value: !GetAtt Role.Arn
`
	tmpl, err := parseTemplate("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	st, err := evaluate(tmpl, map[string]string{"Reserved": "5"}, rosPseudo("cn-hangzhou", "s"), rosAttr)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"RoleName": "r", "Reserved": "5", "Target": "acs:mns:cn-hangzhou:<account-id>:/queues/dlq/messages"}
	if diff := cmp.Diff(want, st.resources["Role"]); diff != "" {
		t.Errorf("Role properties mismatch (-want +got):\n%s", diff)
	}
	if got := st.outputs["RoleArn"]; got != "acs:ram::<account-id>:role/r" {
		t.Errorf("RoleArn = %q, want acs:ram::<account-id>:role/r", got)
	}

	st, err = evaluate(tmpl, nil, rosPseudo("cn-hangzhou", "s"), rosAttr)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.resources["Role"]["Reserved"]; ok {
		t.Errorf("Reserved with the default '' = %v, want it left out", st.resources["Role"]["Reserved"])
	}
	if _, err := evaluate(tmpl, map[string]string{"Platform": "lambda"}, rosPseudo("cn-hangzhou", "s"), rosAttr); err == nil {
		t.Error("evaluate with Platform lambda: no error, want one: Role's Fn::Sub names Queue, which is then not created")
	}
}
