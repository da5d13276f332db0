//! What a PB status client is told (spec-notify-4 §4.5–4.7): subscription modes, the objects a
//! client can hold references to, and which status event becomes which call on its target at
//! which mode. Pure: references are named by [`Object`]; the listener gives them numbers.

use crate::domain::event::StatusEvent;
use crate::domain::model::BuilderState;

use super::jelly::Value;

/// How much a subscribed client hears, each mode everything of the one before and more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Builders,
    Builds,
    Steps,
    Logs,
    Full,
}

impl Mode {
    pub const NAMES: &'static str = "builders, builds, steps, logs, full";

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "builders" => Self::Builders,
            "builds" => Self::Builds,
            "steps" => Self::Steps,
            "logs" => Self::Logs,
            "full" => Self::Full,
            _ => return None,
        })
    }
}

/// An object a client may hold a reference to and call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Object {
    /// The one-shot login challenger, with its challenge.
    Challenger(Vec<u8>),
    /// The logged-in client's perspective.
    Perspective,
    Builder(String),
    Build(String, u32),
    Step(String, u32, u32),
    Log(String, u32, u32, String),
    BuildSet(u64),
    /// A build request, by its buildset and builder (see `requests`).
    BuildRequest(u64, String),
}

/// An argument of a call to the client: a plain value, or a reference to one of our objects.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Value(Value),
    Ref(Object),
}

impl Arg {
    fn text(text: &str) -> Self {
        Self::Value(Value::text(text))
    }
}

/// A call on the client's target: its method and arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct Push {
    pub method: &'static str,
    pub args: Vec<Arg>,
}

/// The calls announcing a builder to a client that just subscribed (`builderAdded`, and from
/// `builds` on its state), as for a builder added then.
pub fn builder_replay(name: &str, state: BuilderState, mode: Mode) -> Vec<Push> {
    let mut pushes =
        vec![Push { method: "builderAdded", args: vec![Arg::text(name), Arg::Ref(Object::Builder(name.to_owned()))] }];
    if mode >= Mode::Builds {
        pushes.push(state_push(name, state));
    }
    pushes
}

fn state_push(name: &str, state: BuilderState) -> Push {
    Push {
        method: "builderChangedState",
        args: vec![Arg::text(name), Arg::text(state.name()), Arg::Value(Value::None)],
    }
}

/// The call `event` makes on a client subscribed at `mode`, if any (§4.7's matrix). Buildsets,
/// requests, changes, workers and step texts are forwarded at no mode.
pub fn push_for(event: &StatusEvent, mode: Mode) -> Option<Push> {
    let build = |builder: &str, number: u32| Arg::Ref(Object::Build(builder.to_owned(), number));
    let (needs, push) = match event {
        StatusEvent::BuilderAdded { builder } => (
            Mode::Builders,
            Push {
                method: "builderAdded",
                args: vec![Arg::text(&builder.name), Arg::Ref(Object::Builder(builder.name.clone()))],
            },
        ),
        StatusEvent::BuilderRemoved { name } => {
            (Mode::Builders, Push { method: "builderRemoved", args: vec![Arg::text(name)] })
        }
        StatusEvent::BuilderStateChanged { name, state } => (Mode::Builds, state_push(name, *state)),
        StatusEvent::BuildStarted { build: b, .. } => (
            Mode::Builds,
            Push { method: "buildStarted", args: vec![Arg::text(&b.builder), build(&b.builder, b.number)] },
        ),
        StatusEvent::BuildFinished { builder, number, result, .. } => (
            Mode::Builds,
            Push {
                method: "buildFinished",
                args: vec![
                    Arg::text(builder),
                    build(builder, *number),
                    Arg::Value(Value::Int(i64::from(result.code()))),
                ],
            },
        ),
        StatusEvent::StepStarted { builder, number, step } => (
            Mode::Steps,
            Push {
                method: "stepStarted",
                args: vec![
                    Arg::text(builder),
                    build(builder, *number),
                    Arg::text(&step.name),
                    Arg::Ref(Object::Step(builder.clone(), *number, step.number)),
                ],
            },
        ),
        _ => return None,
    };
    (mode >= needs).then_some(push)
}

/// Calls that need the step's name (not in the event): a step finishing, a log starting,
/// finishing or growing. `step_name` is what the listener read for it.
pub fn step_push_for(event: &StatusEvent, mode: Mode, step_name: &str) -> Option<Push> {
    let step_args = |builder: &str, number: u32, step: u32| {
        vec![
            Arg::text(builder),
            Arg::Ref(Object::Build(builder.to_owned(), number)),
            Arg::text(step_name),
            Arg::Ref(Object::Step(builder.to_owned(), number, step)),
        ]
    };
    let log_args = |builder: &str, number: u32, step: u32, log: &str| {
        let mut args = step_args(builder, number, step);
        args.push(Arg::text(log));
        args.push(Arg::Ref(Object::Log(builder.to_owned(), number, step, log.to_owned())));
        args
    };
    let (needs, push) = match event {
        StatusEvent::StepFinished { builder, number, step, result, text2, .. } => {
            let mut args = step_args(builder, *number, *step);
            let words = Value::List(text2.iter().map(Value::text).collect());
            args.push(Arg::Value(Value::Tuple(vec![Value::Int(i64::from(result.code())), words])));
            (Mode::Steps, Push { method: "stepFinished", args })
        }
        StatusEvent::LogStarted { builder, number, step, log, .. } => {
            (Mode::Logs, Push { method: "logStarted", args: log_args(builder, *number, *step, log) })
        }
        StatusEvent::LogFinished { builder, number, step, log } => {
            (Mode::Logs, Push { method: "logFinished", args: log_args(builder, *number, *step, log) })
        }
        StatusEvent::LogChunk { builder, number, step, log, channel, text } => {
            let mut args = log_args(builder, *number, *step, log);
            args.push(Arg::Value(Value::Int(i64::from(channel.code()))));
            args.push(Arg::text(text));
            (Mode::Full, Push { method: "logChunk", args })
        }
        _ => return None,
    };
    (mode >= needs).then_some(push)
}

/// Whether `event` is one [`step_push_for`] handles (so the listener reads the step's name).
pub fn needs_step_name(event: &StatusEvent) -> bool {
    matches!(
        event,
        StatusEvent::StepFinished { .. }
            | StatusEvent::LogStarted { .. }
            | StatusEvent::LogFinished { .. }
            | StatusEvent::LogChunk { .. }
    )
}

/// `newbuild` on an observer of a build request: a build claimed it.
pub fn newbuild_push(builder: &str, number: u32) -> Push {
    Push { method: "newbuild", args: vec![Arg::Ref(Object::Build(builder.to_owned(), number)), Arg::text(builder)] }
}

/// `buildETAUpdate` (from `steps` on): seconds left for a running build.
pub fn build_eta_push(builder: &str, number: u32, seconds_left: f64) -> Push {
    Push {
        method: "buildETAUpdate",
        args: vec![
            Arg::text(builder),
            Arg::Ref(Object::Build(builder.to_owned(), number)),
            Arg::Value(Value::Float(seconds_left)),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::Builder;

    #[test]
    fn the_mode_matrix() {
        let added = StatusEvent::BuilderAdded { builder: Builder { name: "linux".into(), ..Builder::default() } };
        let state = StatusEvent::BuilderStateChanged { name: "linux".into(), state: BuilderState::Idle };
        assert!(push_for(&added, Mode::Builders).is_some());
        assert!(push_for(&state, Mode::Builders).is_none());
        assert_eq!(push_for(&state, Mode::Builds).unwrap().method, "builderChangedState");
        assert_eq!(Mode::parse("full"), Some(Mode::Full));
        assert_eq!(Mode::parse("everything"), None);
        assert!(Mode::Logs > Mode::Steps);
    }
}
