fn main() { std::process::exit(ctys::front::tool_main("ipmi", std::env::args().skip(1).collect())) }
