fn main() -> std::process::ExitCode {
    shared::startup::prepare();
    shared::startup::main("users", users::Settings::from_env(), users::serve)
}
