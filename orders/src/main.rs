fn main() -> std::process::ExitCode {
    shared::startup::prepare();
    shared::startup::main("orders", orders::Settings::from_env(), orders::serve)
}
