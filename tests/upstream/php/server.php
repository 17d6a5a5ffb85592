<?php
// The FastCGI parameters PHP was given, one NAME=value line each (unset ones
// left out): the split into SCRIPT_NAME and PATH_INFO, the target, the client.
header('Content-Type: text/plain');
$names = ['REQUEST_METHOD', 'REQUEST_URI', 'QUERY_STRING', 'SCRIPT_NAME', 'SCRIPT_FILENAME',
          'PATH_INFO', 'DOCUMENT_ROOT', 'SERVER_PROTOCOL', 'REMOTE_ADDR', 'HTTP_HOST',
          'CONTENT_LENGTH', 'CONTENT_TYPE', 'HTTPS', 'REQUEST_SCHEME', 'HTTP_CONNECTION', 'HTTP_PROXY'];
foreach ($names as $name) {
    if (isset($_SERVER[$name])) {
        echo $name, '=', $_SERVER[$name], "\n";
    }
}
