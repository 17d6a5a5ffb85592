# puma's entry point for the Sinatra application in app.rb. The tests run
#     puma --bind tcp://127.0.0.1:0 --environment production tests/upstream/sinatra/config.ru
# and read the port from its "Listening on http://127.0.0.1:PORT" line.
require_relative 'app'
run App
