fn main() { std::process::exit(ctys::front::tool_main("plugins", std::env::args().skip(1).collect())) }
