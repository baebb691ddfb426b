fn main() -> std::process::ExitCode {
    shared::startup::prepare();
    shared::startup::main("beers", beers::Settings::from_env(), beers::serve)
}
