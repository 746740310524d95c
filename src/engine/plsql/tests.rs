//! The PL/SQL subset: parsing, refusals that name the part, and Oracle's evaluation rules.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::engine::value::VariableValue;

struct TestEnv(Vec<(&'static str, VariableValue)>);

impl Env for TestEnv {
    fn variable(&self, name: &str) -> Option<VariableValue> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
    fn builtin(&self, name: &str) -> Option<Value> {
        (name == "PROCESS_ID").then_some(Value::Number(42.0))
    }
    fn now(&self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 7, 15, 4, 9)
            .single()
            .expect("valid")
    }
}

fn env() -> TestEnv {
    TestEnv(vec![
        ("DEPT", VariableValue::Varchar("SALES".into())),
        ("FoodOrdered", VariableValue::Varchar("PIZZA:CHIPS".into())),
        ("amount", VariableValue::Number(5000.0)),
        ("half", VariableValue::Number(0.5)),
        ("empty", VariableValue::Varchar(String::new())),
        (
            "due",
            VariableValue::Date(
                Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
                    .single()
                    .expect("valid"),
            ),
        ),
    ])
}

fn holds(text: &str) -> bool {
    Expression::parse_condition(text, Form::Expression)
        .unwrap_or_else(|error| panic!("{text}: {error}"))
        .holds(&env())
        .unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn value(text: &str) -> Value {
    Expression::parse(text, Form::Expression)
        .unwrap_or_else(|error| panic!("{text}: {error}"))
        .evaluate(&env())
        .unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn refusal(text: &str, form: Form) -> String {
    match Expression::parse_condition(text, form) {
        Ok(_) => panic!("{text} should be refused"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn the_conditions_of_flows_tutorials_hold() {
    assert!(holds(":F4A$DEPT = 'SALES'"));
    assert!(holds(":f4a$dept = 'SALES'"), "names match in any case");
    assert!(holds(":F4A$FoodOrdered like '%PIZZA%'"));
    assert!(!holds(":F4A$FoodOrdered like '%BURGER%'"));
    assert!(holds("'&F4A$DEPT.' = 'SALES'"));
    assert!(holds("&F4A$amount. > 4999"));
}

#[test]
fn comparisons_follow_oracle() {
    assert!(
        holds(":F4A$amount > 100"),
        "text bind meets a number: numeric"
    );
    assert!(!holds(":F4A$amount > '9'"), "text meets text: lexical");
    assert!(holds(":F4A$amount between 1000 and 5000"));
    assert!(holds(":F4A$amount not between 1 and 10"));
    assert!(holds(":F4A$DEPT in ('HR', 'SALES')"));
    assert!(holds(":F4A$DEPT not in ('HR', 'IT')"));
    assert!(holds(":F4A$missing is null"));
    assert!(holds(":F4A$empty is null"), "'' is null");
    assert!(holds(":F4A$DEPT is not null"));
    assert!(!holds(":F4A$missing = 'x'"));
    assert!(!holds("not (:F4A$missing = 'x')"), "unknown stays unknown");
    assert!(holds(":F4A$missing = 'x' or 1 = 1"));
    assert!(holds(":F4A$due > to_date('2024-04-30', 'YYYY-MM-DD')"));
    assert!(holds(":F4A$due > sysdate"));
    assert!(holds(
        "upper(lower(:F4A$DEPT)) = 'SALES' and length(:F4A$DEPT) = 5"
    ));
    assert!(holds(
        "nvl(:F4A$missing, 'd') = 'd' and coalesce(null, :F4A$DEPT) = 'SALES'"
    ));
    assert!(holds(
        "substr(:F4A$DEPT, 2, 3) = 'ALE' and instr(:F4A$DEPT, 'L') = 3"
    ));
    assert!(holds("trim('  a ') || 'b' = 'ab'"));
    assert!(holds("to_number('12.5') * 2 = 25"));
    assert!(holds("to_char(:F4A$half) = '.5'"));
    assert!(holds(":F4A$process_id = 42"));
    assert!(holds("'a_c' like 'a\\_c' escape '\\'"));
    assert!(holds("true and not false"));
    assert!(holds("NOT :F4A$amount < 1 AND :F4A$DEPT <> 'x'"));
}

#[test]
fn function_bodies_return_a_value() {
    let body =
        Expression::parse_condition("return :F4A$amount > 10;", Form::FunctionBody).expect("body");
    assert_eq!(body.holds(&env()), Ok(true));
    let body = Expression::parse(
        "begin\n  return 'x' || :F4A$DEPT;\nend;",
        Form::FunctionBody,
    )
    .expect("body");
    assert_eq!(body.evaluate(&env()), Ok(Value::Text("xSALES".into())));
}

#[test]
fn values_are_computed() {
    assert_eq!(value("7 * 6"), Value::Number(42.0));
    assert_eq!(
        value("to_char(sysdate, 'Month')"),
        Value::Text("January  ".into())
    );
    assert_eq!(
        value("to_char(to_date('24-12-1970','DD-MM-YYYY'), 'MM')"),
        Value::Text("12".into())
    );
    assert_eq!(value("'a' || null || 1"), Value::Text("a1".into()));
    assert_eq!(value("replace('a-b', '-')"), Value::Text("ab".into()));
    assert_eq!(value("round(2.567, 2)"), Value::Number(2.57));
    assert_eq!(
        value("to_char(1234.5, 'FM9999.00')"),
        Value::Text("1234.50".into())
    );
    assert_eq!(value("substr('hello', -3)"), Value::Text("llo".into()));
    assert_eq!(value("instr('banana', 'a', -1, 2)"), Value::Number(4.0));
    assert_eq!(
        value("initcap('hello world')"),
        Value::Text("Hello World".into())
    );
    assert_eq!(value("mod(7, 3) + abs(-1)"), Value::Number(2.0));
    assert_eq!(
        value("'&F4A$nothing.'"),
        Value::Text("&F4A$nothing.".into())
    );
}

#[test]
fn evaluation_errors_are_reported() {
    let condition = Expression::parse_condition(":F4A$DEPT > 5", Form::Expression).expect("parses");
    assert!(condition.holds(&env()).is_err(), "'SALES' is not a number");
    let condition =
        Expression::parse_condition("&F4A$nothing. = 1", Form::Expression).expect("parses");
    assert!(condition.holds(&env()).is_err());
    let division = Expression::parse("1 / 0", Form::Expression).expect("parses");
    assert!(division.evaluate(&env()).is_err());
}

#[test]
fn parts_outside_the_subset_are_named() {
    for (text, part) in [
        ("dbms_random.value > 0.5", "dbms_random.value"),
        ("sys_context('userenv', 'os_user') = 'x'", "sys_context"),
        ("exists (select 1 from emp)", "exists"),
        (":P1_ITEM = 1", ":P1_ITEM"),
        ("DEPT = 'SALES'", "DEPT"),
        (
            "flow_process_vars.get_var_vc2(pi_prcs_id => 1) = 'x'",
            "flow_process_vars.get_var_vc2",
        ),
        ("upper(:F4A$x, 2) = 'X'", "upper"),
        (":F4A$x", "must be true or false"),
        (":F4A$x = ", "ends too early"),
        (":F4A$x = 'a", "unterminated string"),
        ("1 = 1 1", "unexpected number"),
    ] {
        let error = refusal(text, Form::Expression);
        assert!(
            error.contains(part),
            "{text}: {error:?} should name {part:?}"
        );
    }
    for (text, part) in [
        ("declare x number; begin return true; end;", "declarations"),
        ("if :F4A$x = 1 then return true; end if;", "return"),
        ("begin return true; return false; end;", "single"),
    ] {
        let error = refusal(text, Form::FunctionBody);
        assert!(
            error.contains(part),
            "{text}: {error:?} should name {part:?}"
        );
    }
}

#[test]
fn variables_read_are_listed() {
    let expression = Expression::parse(
        ":F4A$a = '&F4A$b.' and &F4A$c. > 1 or upper(:F4A$a) = 'x'",
        Form::Expression,
    )
    .expect("parses");
    assert_eq!(expression.variables(), ["a", "b", "c"]);
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,40}") {
        for form in [Form::Expression, Form::FunctionBody] {
            if let Ok(expression) = Expression::parse(&text, form) {
                let _ = expression.evaluate(&env());
            }
        }
    }

    #[test]
    fn like_agrees_with_a_simple_matcher(value in "[ab%_]{0,6}", pattern in "[ab%_]{0,5}") {
        fn reference(value: &[char], pattern: &[char]) -> bool {
            match pattern.split_first() {
                None => value.is_empty(),
                Some(('%', rest)) => (0..=value.len()).any(|skip| reference(&value[skip..], rest)),
                Some(('_', rest)) => !value.is_empty() && reference(&value[1..], rest),
                Some((c, rest)) => value.first() == Some(c) && reference(&value[1..], rest),
            }
        }
        let v: Vec<char> = value.chars().collect();
        let p: Vec<char> = pattern.chars().collect();
        prop_assert_eq!(eval::like(&value, &pattern, None), reference(&v, &p));
    }
}
